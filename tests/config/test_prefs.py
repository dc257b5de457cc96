"""Preferences: parsers, the four sources and their precedence, errors."""

from __future__ import annotations

import pickle

import pytest

from skitai.config import ConfigError, Preferences, describe, resolve
from skitai.config.settings import BY_NAME, SETTINGS


def test_defaults_match_the_agreed_names():
    p = resolve({}, {}, [])
    assert p.address == "127.0.0.1" and p.port == 5000
    assert p.workers == 0 and p.threads == 4
    assert p.keep_alive == 30 and p.request_timeout == 30 and p.shutdown_timeout == 30
    assert p.backlog == 2048
    assert p.critical_point_cpu_percent == 90.0 and p.critical_point_continuous == 3
    assert p.critical_point_interval == 0
    assert p.trusted_proxies == ("127.0.0.1", "::1")
    assert p.h2_max_concurrent_streams == 100 and p.h2_initial_window_size == 65535
    assert p.h2_max_frame_size == 16384
    assert (p.health_path, p.ready_path, p.metrics_path) == ("/healthz", "/readyz", "/metrics")
    assert p.metrics is True and p.log_format == "text" and p.log_off == ()
    assert all(p.source(s.name) == "default" for s in SETTINGS)


AGREED = """address port workers threads keep_alive request_timeout shutdown_timeout backlog
max_connections max_header_size max_body_size logpath log_format log_off critical_point_cpu_percent
critical_point_continuous critical_point_interval max_requests max_worker_memory name debug use_reloader
pidfile trusted_proxies ssl_certfile ssl_keyfile ssl_passphrase forward_port h2_max_concurrent_streams
h2_initial_window_size h2_max_header_list_size h2_max_frame_size ws_max_message_size health_path
ready_path metrics_path metrics app mounts""".split()


def test_every_agreed_name_is_defined():
    assert set(AGREED) <= set(BY_NAME)
    assert BY_NAME["ssl_passphrase"].secret


def test_precedence_of_the_four_sources():
    code = {"workers": 2, "threads": 2, "keep_alive": 2, "backlog": 2}
    env = {"SKITAI_THREADS": "3", "SKITAI_KEEP_ALIVE": "3", "SKITAI_BACKLOG": "3"}
    argv = ["--keep-alive", "4", "--backlog=4"]
    p = resolve(code, env, argv)
    assert (p.workers, p.threads, p.keep_alive, p.backlog, p.port) == (2, 3, 4.0, 4, 5000)
    assert p.source("port") == "default"
    assert p.source("workers") == "code"
    assert p.source("threads") == "env SKITAI_THREADS"
    assert p.source("keep_alive") == "command line --keep-alive"
    assert p.source("backlog") == "command line --backlog"


def test_port_and_web_concurrency_are_fallbacks():
    p = resolve({"port": 5001, "workers": 1}, {"PORT": "8080", "WEB_CONCURRENCY": "3"}, [])
    assert (p.port, p.source("port")) == (8080, "env PORT")
    assert (p.workers, p.source("workers")) == (3, "env WEB_CONCURRENCY")
    # SKITAI_* wins over the standard variable, the command line over both
    p = resolve({}, {"PORT": "8080", "SKITAI_PORT": "9000", "WEB_CONCURRENCY": "3",
                     "SKITAI_WORKERS": "5"}, [])
    assert (p.port, p.source("port")) == (9000, "env SKITAI_PORT")
    assert (p.workers, p.source("workers")) == (5, "env SKITAI_WORKERS")
    p = resolve({}, {"PORT": "8080", "SKITAI_PORT": "9000"}, ["--port", "9100"])
    assert (p.port, p.source("port")) == (9100, "command line --port")


@pytest.mark.parametrize("raw,expected", [
    ("512M", 512 << 20), ("1G", 1 << 30), ("64k", 64 << 10), ("1024", 1024), ("2MB", 2 << 20),
    ("1.5K", 1536), (4096, 4096),
])
def test_sizes(raw, expected):
    assert resolve({"max_body_size": raw}, {}, []).max_body_size == expected


@pytest.mark.parametrize("raw,expected", [
    ("1", True), ("0", False), ("true", True), ("False", False), ("yes", True), ("no", False),
    ("on", True), ("OFF", False),
])
def test_booleans(raw, expected):
    assert resolve({}, {"SKITAI_DEBUG": raw}, []).debug is expected


@pytest.mark.parametrize("raw,expected", [("30", 30.0), ("2.5", 2.5), ("500ms", 0.5), ("2m", 120.0),
                                          ("1h", 3600.0), (7, 7.0)])
def test_durations(raw, expected):
    assert resolve({"request_timeout": raw}, {}, []).request_timeout == expected


def test_lists_and_mounts():
    p = resolve({}, {"SKITAI_LOG_OFF": "/static/, *.css ,", "SKITAI_TRUSTED_PROXIES": "10.0.0.0/8,::1",
                     "SKITAI_MOUNTS": "/=pkg.mod:app;/static=/srv/static;"}, [])
    assert p.log_off == ("/static/", "*.css")
    assert p.trusted_proxies == ("10.0.0.0/8", "::1")
    assert p.mounts == (("/", "pkg.mod:app"), ("/static", "/srv/static"))
    p = resolve({"mounts": {"/a": "x:app"}, "log_off": ["/x"]}, {}, [])
    assert p.mounts == (("/a", "x:app"),) and p.log_off == ("/x",)


def test_boolean_flags_on_the_command_line():
    assert resolve({}, {}, ["--debug"]).debug is True
    assert resolve({}, {}, ["--debug", "off"]).debug is False
    p = resolve({"metrics": True}, {}, ["--no-metrics"])
    assert p.metrics is False and p.source("metrics") == "command line --no-metrics"
    assert resolve({}, {}, ["--use-reloader", "--workers", "1"]).use_reloader is True
    assert resolve({}, {}, ["--log-format", "JSON"]).log_format == "json"


@pytest.mark.parametrize("code,env,argv,setting,source", [
    ({}, {"SKITAI_WORKERS": "two"}, [], "workers", "env SKITAI_WORKERS"),
    ({}, {"SKITAI_WORKERS": "-1"}, [], "workers", "env SKITAI_WORKERS"),
    ({}, {"SKITAI_WORKRES": "2"}, [], "SKITAI_WORKRES", "environment"),
    ({}, {}, ["--port", "70000"], "port", "command line --port"),
    ({}, {"PORT": "0"}, [], "port", "env PORT"),
    ({}, {"WEB_CONCURRENCY": "x"}, [], "workers", "env WEB_CONCURRENCY"),
    ({"workers": "two"}, {}, [], "workers", "code"),
    ({"wrokers": 2}, {}, [], "wrokers", "code"),
    ({}, {"SKITAI_MAX_BODY_SIZE": "12Q"}, [], "max_body_size", "env SKITAI_MAX_BODY_SIZE"),
    ({}, {"SKITAI_DEBUG": "maybe"}, [], "debug", "env SKITAI_DEBUG"),
    ({}, {"SKITAI_LOG_FORMAT": "xml"}, [], "log_format", "env SKITAI_LOG_FORMAT"),
    ({}, {"SKITAI_MOUNTS": "static=/srv"}, [], "mounts", "env SKITAI_MOUNTS"),
    ({}, {"SKITAI_TRUSTED_PROXIES": "not-an-ip"}, [], "trusted_proxies", "env SKITAI_TRUSTED_PROXIES"),
    ({}, {"SKITAI_HEALTH_PATH": "healthz"}, [], "health_path", "env SKITAI_HEALTH_PATH"),
    ({}, {}, ["--bogus", "1"], "--bogus", "command line"),
    ({}, {}, ["--workers"], "workers", "command line --workers"),
])
def test_bad_values_name_setting_and_source(code, env, argv, setting, source):
    with pytest.raises(ConfigError) as info:
        resolve(code, env, argv)
    e = info.value
    assert (e.setting, e.source) == (setting, source)
    line = str(e)
    assert "\n" not in line and line.startswith("skitai: ")
    assert setting in line and source in line and "accepted: " in line


def test_internal_variables_are_not_settings():
    assert resolve({}, {"SKITAI__DAEMON_CHILD": "1"}, []).port == 5000


def test_secret_is_masked_in_errors_and_describe():
    with pytest.raises(ConfigError) as info:
        resolve({"ssl_passphrase": 12345}, {}, [])
    assert "12345" not in str(info.value)
    p = resolve({}, {"SKITAI_SSL_PASSPHRASE": "hunter2"}, [])
    assert p.ssl_passphrase == "hunter2"
    text = describe(p)
    assert "hunter2" not in text and "hunter2" not in repr(p)
    line = next(x for x in text.splitlines() if "ssl_passphrase" in x)
    assert "*****" in line and "(env SKITAI_SSL_PASSPHRASE)" in line


def test_describe_names_every_setting_and_source():
    p = resolve({"threads": 8}, {"SKITAI_PORT": "8000"}, ["--workers", "3"])
    text = describe(p)
    for s in SETTINGS:
        assert f"  {s.name} " in text
    assert "(code)" in text and "(env SKITAI_PORT)" in text and "(command line --workers)" in text
    auto = describe(resolve({}, {}, []))
    assert "0 (auto: " in auto


def test_preferences_are_read_only_and_picklable():
    p = resolve({}, {}, ["--port", "8001"])
    with pytest.raises(AttributeError):
        p.port = 1
    with pytest.raises(AttributeError):
        p.no_such_thing  # noqa: B018
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, Preferences) and q == p and q.source("port") == "command line --port"
    r = p.replace(workers=2)
    assert r.workers == 2 and r.source("workers") == "code" and p.workers == 0
    with pytest.raises(ConfigError):
        p.replace(workers="x")


def test_seed_mode_flags():
    p = resolve({}, {}, ["--devel"])
    assert p.debug is True and p.use_reloader is True and p.source("debug") == "command line --devel"
    p = resolve({"debug": True, "use_reloader": True}, {}, ["---production"])
    assert p.debug is False and p.use_reloader is False
    assert p.source("use_reloader") == "command line ---production"


def test_dash_v_logs_to_the_console():
    p = resolve({"logpath": "/var/log/skitai"}, {}, ["-v"])
    assert p.logpath == "" and p.source("logpath") == "command line -v"


def test_none_in_code_keeps_the_default():
    p = resolve({"port": None, "logpath": None}, {}, [])
    assert p.port == 5000 and p.source("port") == "default"
