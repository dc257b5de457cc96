"""skitai.pref(): app attributes, config as dict and attributes, engine names reach the code level."""

from __future__ import annotations

import pytest

import skitai
from skitai.config import resolve


@pytest.fixture(autouse=True)
def clean():
    skitai._reset()
    yield
    skitai._reset()


def test_pref_attributes_and_config():
    pref = skitai.pref()
    assert pref.debug is None and pref.use_reloader is None and pref.max_client_body_size is None
    pref.use_reloader = 1
    pref.max_client_body_size = 2 << 32
    pref.config["prefA"] = 1
    pref.config.prefB = 2
    assert pref.config.prefA == 1 and pref.config["prefB"] == 2
    assert dict(pref.config) == {"prefA": 1, "prefB": 2}
    assert pref.as_dict() == {"use_reloader": 1, "max_client_body_size": 2 << 32}
    with pytest.raises(AttributeError):
        pref.not_set  # noqa: B018
    assert skitai.preference is skitai.pref


def test_engine_names_on_a_pref_set_code_level_values():
    pref = skitai.preference()
    pref.workers = 2
    pref.debug = True
    pref.config.workers = 9  # config is the app's own, not the engine's
    p = resolve(skitai._code, {}, [])
    assert p.workers == 2 and p.source("workers") == "code"
    assert p.debug is True
    # ... and the environment still wins over them
    assert resolve(skitai._code, {"SKITAI_WORKERS": "3"}, []).workers == 3


def test_set_helpers_record_code_values():
    skitai.set_keep_alive(2)
    skitai.set_request_timeout(10)
    skitai.set_worker_critical_point()
    skitai.log_off("/static/", "*.css")
    skitai.log_off("/js/")
    skitai.enable_ssl("server.crt", "server.key", "pw")
    skitai.enable_forward(8080, 8443)
    p = resolve(skitai._code, {}, [])
    assert p.keep_alive == 2 and p.request_timeout == 10
    assert (p.critical_point_cpu_percent, p.critical_point_continuous, p.critical_point_interval) == (90, 3, 20)
    assert p.log_off == ("/static/", "*.css", "/js/")
    assert (p.ssl_certfile, p.ssl_keyfile, p.ssl_passphrase) == ("server.crt", "server.key", "pw")
    assert p.forward_port == 8080 and p.port == 8443
    skitai.set_worker_critical_point(cpu_percent=50, continuous=5, interval=0)
    p = resolve(skitai._code, {}, [])
    assert (p.critical_point_cpu_percent, p.critical_point_continuous, p.critical_point_interval) == (50, 5, 0)


def test_alias_is_recorded():
    skitai.alias("@members", skitai.PROTO_HTTPS, "members.example.com", role="admin", source="10.0.0.0/8")
    a = skitai.aliases()["@members"]
    assert a["servers"] == ["members.example.com"] and a["ssl"] is True and a["role"] == "admin"


def test_constants_exist():
    for name in ("WS_SIMPLE WS_CHANNEL WS_SESSION WS_GROUPCHAT WS_THREADSAFE WS_NOTHREAD WS_COROUTINE "
                 "WS_THREAD WS_STREAM WS_MSG_JSON WS_MSG_XMLRPC WS_EVT_INIT WS_EVT_OPEN WS_EVT_CLOSE "
                 "DB_PGSQL DB_SQLITE3 DB_REDIS DB_MONGODB PROTO_HTTP PROTO_HTTPS PROTO_WS PROTO_WSS").split():
        assert hasattr(skitai, name), name
    flags = [skitai.WS_CHANNEL, skitai.WS_GROUPCHAT, skitai.WS_THREAD, skitai.WS_NOTHREAD,
             skitai.WS_SESSION, skitai.WS_THREADSAFE, skitai.WS_COROUTINE, skitai.WS_STREAM]
    assert len(set(flags)) == len(flags)
    assert all(a & b == 0 for i, a in enumerate(flags) for b in flags[i + 1:])


def test_abspath_and_getswd(tmp_path, monkeypatch):
    assert skitai.abspath("a", "b.py").endswith("/a/b.py")
    assert skitai.abspath("x").startswith(skitai.getswd())


def test_set_attributes_are_plain_instance_attributes():
    # frameworks may read a pref with vars() as well as as_dict()
    pref = skitai.pref(debug=True)
    pref.config.x = 1
    public = {k: v for k, v in vars(pref).items() if not k.startswith("_")}
    assert public == {"debug": True, "config": {"x": 1}}
    with pytest.raises(AttributeError):
        pref._secret = 1
    assert skitai.pref(True).as_dict() == {"debug": True, "use_reloader": True}


def test_preference_as_context_manager_and_is_devel(monkeypatch):
    with skitai.preference() as pref:
        pref.config.x = 1
    assert pref.config.x == 1
    monkeypatch.setattr("sys.argv", ["skitaid.py", "--devel"])
    assert skitai.is_devel() is True
    monkeypatch.setattr("sys.argv", ["skitaid.py"])
    monkeypatch.delenv("SKITAI_DEBUG", raising=False)
    assert skitai.is_devel() is False
    monkeypatch.setenv("SKITAI_DEBUG", "yes")
    assert skitai.is_devel() is True
    skitai._prefs = resolve({}, {}, [])
    assert skitai.is_devel() is False
    assert skitai.joinpath("a") == skitai.abspath("a")
