"""Static directories: types, validators, 304, Range, HEAD, index, max_age, sendfile, no escapes."""

import email.utils
import os

import pytest

from skitai.mounts import MountTable
from skitai.mounts.static import parse_range

from .asgi import call

BIG = 300_000


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("<p>home</p>")
    (root / "app.js").write_text("let a = 1;")
    (root / "style.css").write_text("p{}")
    (root / "data.json").write_text("{}")
    (root / "pic.svg").write_text("<svg/>")
    (root / "mod.wasm").write_bytes(b"\0asm")
    (root / "blob.unknownext").write_bytes(b"??")
    (root / "big.bin").write_bytes(os.urandom(BIG))
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs</p>")
    (root / "empty").mkdir()
    (root / "js").mkdir()
    (root / "js" / "x.js").write_text("x")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (root / "escape").symlink_to(secret)
    (root / "escapedir").symlink_to(tmp_path)
    (root / "inside").symlink_to(root / "style.css")
    return root


def table(root, point="/static", **opts):
    t = MountTable()
    t.add(point, str(root), **opts)
    t.load()
    return t


def test_content_types(site):
    t = table(site)
    expect = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8",
              "data.json": "application/json; charset=utf-8", "pic.svg": "image/svg+xml; charset=utf-8",
              "mod.wasm": "application/wasm", "blob.unknownext": "application/octet-stream",
              "index.html": "text/html; charset=utf-8"}
    for name, ctype in expect.items():
        r = call(t, target="/static/" + name)
        assert r.status == 200 and r.headers["content-type"] == ctype, name
    assert call(t, target="/static/style.css").body == b"p{}"


def test_etag_last_modified_and_304(site):
    t = table(site)
    r = call(t, target="/static/style.css")
    etag, lm = r.headers["etag"], r.headers["last-modified"]
    st = os.stat(site / "style.css")
    assert etag == f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    assert email.utils.parsedate_to_datetime(lm).timestamp() == int(st.st_mtime)
    r = call(t, target="/static/style.css", headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b"" and r.headers["etag"] == etag
    r = call(t, target="/static/style.css", headers={"If-None-Match": 'W/' + etag + ', "other"'})
    assert r.status == 304
    r = call(t, target="/static/style.css", headers={"If-None-Match": '"nope"'})
    assert r.status == 200
    r = call(t, target="/static/style.css", headers={"If-Modified-Since": lm})
    assert r.status == 304
    older = email.utils.formatdate(st.st_mtime - 3600, usegmt=True)
    assert call(t, target="/static/style.css", headers={"If-Modified-Since": older}).status == 200
    # If-None-Match wins over If-Modified-Since
    assert call(t, target="/static/style.css",
                headers={"If-None-Match": '"nope"', "If-Modified-Since": lm}).status == 200
    assert call(t, target="/static/style.css", headers={"If-Modified-Since": "garbage"}).status == 200


def test_etag_changes_with_content(site):
    t = table(site)
    e1 = call(t, target="/static/style.css").headers["etag"]
    (site / "style.css").write_text("p{color:red}")
    e2 = call(t, target="/static/style.css").headers["etag"]
    assert e1 != e2


def test_range(site):
    t = table(site)
    data = (site / "big.bin").read_bytes()
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=10-19"})
    assert r.status == 206 and r.body == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{BIG}" and r.headers["content-length"] == "10"
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=-5"})
    assert r.status == 206 and r.body == data[-5:]
    r = call(t, target="/static/big.bin", headers={"Range": f"bytes={BIG - 3}-"})
    assert r.status == 206 and r.body == data[-3:]
    r = call(t, target="/static/big.bin", headers={"Range": f"bytes=0-{BIG * 2}"})
    assert r.status == 206 and r.body == data
    r = call(t, target="/static/big.bin", headers={"Range": f"bytes={BIG}-"})
    assert r.status == 416 and r.headers["content-range"] == f"bytes */{BIG}"
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=0-1,5-6"})
    assert r.status == 200 and len(r.body) == BIG          # multi-range: whole file
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=abc"})
    assert r.status == 200                                  # invalid: ignored
    etag = r.headers["etag"]
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=0-0", "If-Range": etag})
    assert r.status == 206 and r.body == data[:1]
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=0-0", "If-Range": '"stale"'})
    assert r.status == 200


def test_parse_range_edges():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=5-2", 10) is None
    assert parse_range("bytes=-0", 10) == "416"
    assert parse_range("bytes=-20", 10) == (0, 9)
    assert parse_range("items=0-1", 10) is None
    assert parse_range("bytes=0-", 0) == "416"


def test_head(site):
    t = table(site)
    r = call(t, "HEAD", "/static/big.bin")
    assert r.status == 200 and r.body == b"" and r.headers["content-length"] == str(BIG)


def test_other_methods_405(site):
    r = call(table(site), "POST", "/static/style.css")
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD"


def test_index_html_and_redirect(site):
    t = table(site)
    assert call(t, target="/static/").body == b"<p>home</p>"
    assert call(t, target="/static/docs/").body == b"<p>docs</p>"
    r = call(t, target="/static/docs?a=1")
    assert r.status == 301 and r.headers["location"] == "/static/docs/?a=1"
    assert call(t, target="/static").status == 301
    assert call(t, target="/static/empty/").status == 404   # no listing
    assert call(t, target="/static/nothing.txt").status == 404


def test_max_age_int_and_dict(site):
    r = call(table(site, max_age=3600), target="/static/style.css")
    assert r.headers["cache-control"] == "max-age=3600" and "expires" in r.headers
    t = table(site, max_age={"/": 300, "/js": 0, "docs/": 60})
    assert call(t, target="/static/style.css").headers["cache-control"] == "max-age=300"
    assert call(t, target="/static/js/x.js").headers["cache-control"] == "max-age=0"
    assert call(t, target="/static/docs/").headers["cache-control"] == "max-age=60"
    assert "cache-control" not in call(table(site), target="/static/style.css").headers


def test_set_max_age_by_url_path(site):
    t = table(site)
    t.set_max_age("/", 300)
    t.set_max_age("/static/js", 5)
    assert call(t, target="/static/style.css").headers["cache-control"] == "max-age=300"
    assert call(t, target="/static/js/x.js").headers["cache-control"] == "max-age=5"


def test_large_files_use_server_extensions(site):
    t = table(site)
    data = (site / "big.bin").read_bytes()
    r = call(t, target="/static/big.bin", extensions={"http.response.pathsend": {}})
    assert [m["type"] for m in r.files] == ["http.response.pathsend"]
    assert r.files[0]["path"] == str(site / "big.bin")
    r = call(t, target="/static/big.bin", headers={"Range": "bytes=100-"},
             extensions={"http.response.zerocopysend": {}, "http.response.pathsend": {}})
    assert r.files[0]["type"] == "http.response.zerocopysend" and r.files[0]["offset"] == 100
    assert r.body == data[100:]
    r = call(t, target="/static/big.bin")  # no extension: chunked reads
    assert r.body == data and len(r.messages) > 3


@pytest.mark.parametrize("target", [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/.%2e/secret.txt",
    "/static/docs/../../secret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%2Fsecret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/escape",
    "/static/escapedir/secret.txt",
    "/static/%00",
    "/static//etc/passwd",
    "/static/%2fetc/passwd",
])
def test_no_path_escapes_the_root(site, target):
    r = call(table(site), target=target)
    assert r.status == 404, (target, r.status)
    assert b"secret" not in r.body and b"root:" not in r.body


def test_symlink_inside_the_root_is_served(site):
    assert call(table(site), target="/static/inside").body == b"p{}"


def test_static_at_root_with_encoded_dots(site):
    t = table(site, point="/")
    assert call(t, target="/%2e%2e/secret.txt").status == 404
    assert call(t, target="/style.css").status == 200


def test_encoded_file_names(site):
    (site / "my file.txt").write_text("spaced")
    (site / "caf\u00e9.txt").write_text("accent")
    t = table(site)
    assert call(t, target="/static/my%20file.txt").body == b"spaced"
    assert call(t, target="/static/caf%C3%A9.txt").body == b"accent"
    assert call(t, target="/static/%252e%252e/secret.txt").status == 404   # double-encoded: a name, not ..


def test_precompressed_variants(site):
    import gzip
    (site / "app.js.gz").write_bytes(gzip.compress(b"let a = 1;"))
    t = table(site)
    r = call(t, target="/static/app.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert r.headers["content-encoding"] == "gzip" and gzip.decompress(r.body) == b"let a = 1;"
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["vary"] == "accept-encoding"
    plain = call(t, target="/static/app.js")
    assert plain.body == b"let a = 1;" and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "accept-encoding" and plain.headers["etag"] != r.headers["etag"]
    refused = call(t, target="/static/app.js", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert refused.body == b"let a = 1;"
    assert "vary" not in call(t, target="/static/style.css", headers={"Accept-Encoding": "gzip"}).headers
    off = table(site, precompressed=False)
    assert "content-encoding" not in call(off, target="/static/app.js", headers={"Accept-Encoding": "gzip"}).headers


def test_symlinked_directories(site, tmp_path):
    (site / "linkdir").symlink_to(site / "docs")
    assert call(table(site), target="/static/linkdir/index.html").body == b"<p>docs</p>"
    assert call(table(site), target="/static/linkdir/").body == b"<p>docs</p>"
    (site / "evil").mkdir()
    (site / "evil" / "index.html").symlink_to(tmp_path / "secret.txt")
    r = call(table(site), target="/static/evil/")
    assert r.status == 404 and b"secret" not in r.body
