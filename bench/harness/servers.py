"""How each server under test is started with a given app, port and worker count.

Fairness rules applied here for every server: same app logic (bench/apps),
same worker count, access log off, logging at warning level where the server
has a switch, and, when one worker runs on a multi-core machine, the server
pinned to CPU 0 (the load generator gets CPU 1).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .procs import Launch, NotAvailable

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
APPS = BENCH / "apps"

# app key -> (module:attr for ASGI/WSGI servers, path answering 200 once the app is up)
APP_MODULES = {
    "asgi": ("asgi_plain:app", "/hello"),
    "starlette": ("starlette_app:app", "/hello"),
    "starlette200": ("starlette_app:app", "/hello"),
    "starlette-static": ("starlette_app:app", "/hello"),
    "flask": ("flask_app:app", "/hello"),
    "atila": ("atila_app", "/hello"),
    "atila200": ("atila_app", "/hello"),
    "static": (None, "/static/16k.bin"),
    "nginx": (None, "/hello"),
}


@dataclass
class Ctx:
    """What the builders need to know about this machine and run."""

    work: Path
    static_dir: Path
    project_python: str
    peers_python: str | None
    peers_reason: str
    orig_python: str | None
    orig_reason: str
    pin_cpu: str | None  # CPU list for single-worker servers, None = no pinning


def _app_env(app: str, ctx: Ctx) -> dict[str, str]:
    env = {"PYTHONPATH": str(APPS)}
    if app.endswith("200"):
        env["BENCH_ROUTES"] = "200"
    if app in ("static", "starlette-static"):
        env["BENCH_STATIC_DIR"] = str(ctx.static_dir)
    return env


def _peer_bin(ctx: Ctx, name: str) -> str:
    if not ctx.peers_python:
        raise NotAvailable(ctx.peers_reason)
    path = Path(ctx.peers_python).parent / name
    if not path.exists():
        raise NotAvailable(f"{name} is not installed in the peers venv")
    return str(path)


def _need(app: str, allowed: tuple[str, ...], server: str) -> None:
    if app not in allowed:
        raise NotAvailable(f"{server} does not serve the '{app}' app in this bench")


def build(server: str, app: str, port: int, workers: int, ctx: Ctx, variant: str = "") -> Launch:
    """The Launch for ``server`` running ``app``; raises NotAvailable when it cannot exist here."""
    module, ready = APP_MODULES[app]
    env = _app_env(app, ctx)
    host = "127.0.0.1"
    if server == "skitai":
        launch = _skitai(app, port, workers, ctx, variant)
    elif server == "uvicorn":
        _need(app, ("asgi", "starlette", "starlette200", "starlette-static"), server)
        argv = [_peer_bin(ctx, "uvicorn"), module, "--host", host, "--port", str(port),
                "--workers", str(workers), "--http", "httptools", "--loop", "uvloop",
                "--ws", "websockets", "--no-access-log", "--log-level", "warning"]
        launch = Launch(argv, env, str(APPS), ready)
    elif server == "hypercorn":
        _need(app, ("asgi",), server)
        argv = [_peer_bin(ctx, "hypercorn"), "-b", f"{host}:{port}", "-w", str(workers),
                "-k", "uvloop", "--log-level", "warning", module]
        launch = Launch(argv, env, str(APPS), ready)
    elif server in ("granian-asgi", "granian-wsgi"):
        interface = server.split("-")[1]
        _need(app, ("asgi",) if interface == "asgi" else ("flask",), server)
        argv = [_peer_bin(ctx, "granian"), "--interface", interface, "--host", host,
                "--port", str(port), "--workers", str(workers), "--no-access-log",
                "--log-level", "warning"]
        if interface == "asgi":
            argv += ["--loop", "uvloop"]
        argv.append(module)
        launch = Launch(argv, env, str(APPS), ready)
    elif server in ("gunicorn-sync", "gunicorn-gthread"):
        _need(app, ("flask",), server)
        kind = server.split("-")[1]
        argv = [_peer_bin(ctx, "gunicorn"), "-b", f"{host}:{port}", "-w", str(workers), "-k", kind,
                "--log-level", "warning"]
        if kind == "gthread":
            argv += ["--threads", "4"]
        argv.append(module)
        launch = Launch(argv, env, str(APPS), ready)
    elif server == "orig":
        _need(app, ("atila", "atila200"), server)
        if not ctx.orig_python:
            raise NotAvailable(ctx.orig_reason)
        env.pop("PYTHONPATH", None)  # never let the project's skitai shadow the original
        env.update({"BENCH_PORT": str(port), "BENCH_WORKERS": str(workers),
                    # it keeps per-name state under ~/.skitai: keep that inside bench/.work
                    "HOME": str(ctx.work / "orig-home")})
        (ctx.work / "orig-home").mkdir(parents=True, exist_ok=True)
        launch = Launch([ctx.orig_python, str(APPS / "skitaid_orig.py")], env, str(APPS), ready)
    elif server == "nginx":
        launch = _nginx(port, workers, ctx, variant)
    else:
        raise NotAvailable(f"unknown server {server}")
    if workers == 1 and ctx.pin_cpu is not None and shutil.which("taskset"):
        launch.argv = ["taskset", "-c", ctx.pin_cpu, *launch.argv]
    return launch


def _skitai(app: str, port: int, workers: int, ctx: Ctx, variant: str = "") -> Launch:
    """The project's engine through its CLI (``skitai serve APP --workers N --port P``).

    Everything else stays at Skitai's defaults except the access log, which is
    off (``--log-off /``) as for every other server.
    """
    if not (ROOT / "skitai" / "cli.py").exists():
        raise NotAvailable("`skitai serve` CLI (skitai/cli.py) is not in this tree yet")
    module, ready = APP_MODULES[app]
    env = _app_env(app, ctx)
    env["PYTHONPATH"] = f"{APPS}:{ROOT}"
    if app.startswith("atila") and not (ROOT / "atila" / "app.py").exists():
        raise NotAvailable("the project's Atila is not in this tree yet")
    what = ["--mounts", f"/static={ctx.static_dir}"] if app == "static" else [module]
    argv = [ctx.project_python, "-m", "skitai", "serve", *what, "--port", str(port),
            "--workers", str(workers), "--log-off", "/"]
    if variant == "nometrics":
        argv += ["--metrics", "off"]
    return Launch(argv, env, str(APPS), ready)


NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 10000000;
    default_type application/octet-stream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port}{listen_opts};
        location = /hello {{ default_type text/plain; return 200 "Hello, World!"; }}
        location = /json {{ default_type application/json; return 200 '{{"message": "Hello, World!"}}'; }}
        location /static/ {{ alias {static}/; }}
    }}
}}
"""


def _nginx(port: int, workers: int, ctx: Ctx, variant: str) -> Launch:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        raise NotAvailable("nginx is not installed (scripts/setup.sh --full installs it)")
    d = ctx.work / f"nginx-{port}"
    d.mkdir(parents=True, exist_ok=True)
    conf = NGINX_CONF.format(workers=workers, dir=d, port=port, static=ctx.static_dir,
                             listen_opts=" http2" if variant == "h2" else "")
    (d / "nginx.conf").write_text(conf)
    # nginx 1.22 speaks only h2c (prior knowledge) on a cleartext `http2` listener: wait for the port
    return Launch([nginx, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
                  {}, str(d), "/hello", http_check=variant != "h2")
