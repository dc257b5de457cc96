"""[001] standard package structure with services/: route names without the 'services' prefix,
recursive __setup__ mounting, older hook signatures, urlpatch/basepath examples of section 13."""

from __future__ import annotations

import atila
from skitai.testing import AsgiClient


def test_services_package(apps_path):
    import nspkg

    app = atila.load(nspkg)
    with AsgiClient(app) as c:
        assert c.get("/").text == '<a href="/feature1">Feature 1</a> | <a href="/feature2">Feature 2</a>'
        assert c.get("/feature1").text == "Feature 1 Index"
        assert c.get("/feature1/").status_code == 404
        assert c.get("/contactus").text == "Contact Us"
        assert c.get("/boards/search?q=x").text == "x"
        assert c.get("/v1/register").text == "register"
        r = c.get("/navigate?limit=100&pageno=2").json()
        assert r["a"] == "/navigate?limit=100&pageno=3"
        assert r["b"] == "/navigate?limit=100&pageno=3"
        assert r["c"] == "/navigate"
        assert r["d"] == "/boards/search?q=news"
        assert r["e"] == "/v1/register"
