"""The WSGI hot path in a real worker (``skitai serve``): what the worker sets up for it."""

import httpx

from tests.support import ServerProcess, free_port


def test_worker_freezes_the_loaded_app_out_of_full_collections():
    """After startup the worker moves the engine and the apps to the permanent generation
    (gc.freeze): full collections then scan only what requests left, not the whole app."""
    port = free_port()
    args = ["-m", "skitai", "serve", "tests.apps.mounts_wsgi:gc_info", "--port", str(port),
            "--workers", "1", "--log-off", "/"]
    with ServerProcess(args, port) as srv:
        info = httpx.get(srv.url + "/", timeout=10).json()
        out = srv.output()
    assert info["enabled"] is True, out        # still collecting: only what was loaded is frozen
    assert info["frozen"] > 5000, (info, out)  # the engine, the app, the stdlib: thousands
    assert info["threshold"] == [2000, 10, 10], info  # young generation: CPython 3.13's default


def test_an_apps_own_collector_threshold_is_kept():
    port = free_port()
    args = ["-m", "skitai", "serve", "tests.apps.gc_own_threshold:app", "--port", str(port),
            "--workers", "1", "--log-off", "/"]
    with ServerProcess(args, port) as srv:
        info = httpx.get(srv.url + "/", timeout=10).json()
    assert info["threshold"] == [500, 5, 5], info
