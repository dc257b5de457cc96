"""``app.test_client()``: the oldest documented test harness ([000]), kept for old test suites.

The newest docs use ``skitai.test_client(script)`` (a real server); this one
calls the app in-process through ``skitai.testing.AsgiClient`` and adds the
old API stub: ``cli.api().apis.pets(45).get()`` requests ``/apis/pets/45``
and the response has ``.data`` (the decoded JSON).
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

from skitai.testing.asgi import AsgiClient


class AppTestClient(AsgiClient):
    """In-process client of one app; ``with app.test_client("/", approot=".") as cli:``."""

    __test__ = False

    def request(self, method: str, url: str, **kw: Any):
        resp = super().request(method, url, **kw)
        try:
            resp.data = jsonlib.loads(resp.content) if resp.content else None
        except ValueError:
            resp.data = resp.text
        return resp

    def api(self, base: str = "") -> ApiStub:
        """A path builder: attributes and call arguments become path segments, then ``get(**params)``,
        ``post(data)``, ``put(data)``, ``patch(data)``, ``delete()``, ``options()``."""
        return ApiStub(self, base.rstrip("/"))


class ApiStub:
    __slots__ = ("_client", "_path")

    def __init__(self, client: AppTestClient, path: str) -> None:
        self._client = client
        self._path = path

    def __getattr__(self, name: str) -> ApiStub:
        if name.startswith("__"):
            raise AttributeError(name)
        return ApiStub(self._client, f"{self._path}/{name}")

    def __call__(self, *segments: Any) -> ApiStub:
        path = self._path + "".join(f"/{s}" for s in segments)
        return ApiStub(self._client, path)

    def _url(self) -> str:
        return self._path or "/"

    def get(self, **params: Any):
        return self._client.get(self._url(), params=params or None)

    def delete(self, **params: Any):
        return self._client.delete(self._url(), params=params or None)

    def options(self, **params: Any):
        return self._client.options(self._url(), params=params or None)

    def post(self, data: Any = None, **kw: Any):
        return self._client.post(self._url(), json=data if data is not None else kw)

    def put(self, data: Any = None, **kw: Any):
        return self._client.put(self._url(), json=data if data is not None else kw)

    def patch(self, data: Any = None, **kw: Any):
        return self._client.patch(self._url(), json=data if data is not None else kw)
