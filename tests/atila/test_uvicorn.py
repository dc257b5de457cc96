"""Atila is a plain ASGI 3 app: the Dumb Seek package served by uvicorn (lifespan runs the hooks)."""

import importlib.util
from pathlib import Path

import httpx

from tests.support import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dumbseek"


def test_dumbseek_on_uvicorn(tmp_path):
    assert importlib.util.find_spec("uvicorn") is not None, \
        "uvicorn is required (pip install -e '.[test]')"
    port = free_port()
    args = ["-m", "uvicorn", "asgi:app", "--port", str(port), "--host", "127.0.0.1", "--lifespan", "on",
            "--log-level", "info"]
    with ServerProcess(args, port, cwd=EXAMPLE, env={"PYTHONPATH": f"{EXAMPLE}:{ROOT}"}) as srv:
        with httpx.Client(base_url=srv.url, timeout=5) as c:
            assert c.get("/").json() == {"app": "Dumb Seek"}
            r = c.post("/api/documents", data={"document": "Detective Holmes"})
            assert r.status_code == 201 and r.json()["url"] == "/api/documents/0"
            assert c.get("/api/documents", params={"q": "holmes"}).json()["result"] == ["Detective Holmes"]
            assert c.get("/api/documents/5").status_code == 404
            assert c.put("/api/tokens").status_code == 405
        srv.stop()
        out = srv.output()
        assert "Application startup complete" in out
        assert "Application shutdown complete" in out
