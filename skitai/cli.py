"""Command line: ``skitai serve APP``, ``skitai config`` and the seed-style script commands.

    skitai serve APP [--NAME VALUE ...] [start|stop|restart|status] [-d]
    skitai config [APP] [--NAME VALUE ...]
    python app.py [start|stop|restart|status] [-d|-s|-r] [--NAME VALUE ...]

Every ``--NAME`` is a setting of ``skitai/config/settings.py``. A value that
is not accepted ends the process with exit code 2 and one line on stderr
naming the setting, where the value came from and what is accepted.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from .config.prefs import EXIT_CONFIG, MODE_FLAGS, ConfigError, Preferences, describe, resolve
from .config.settings import BY_FLAG, SETTINGS, Bool

COMMANDS = ("start", "stop", "restart", "status")
SHORT_COMMANDS = {"-d": "start", "-s": "stop", "-r": "restart"}

GROUP_TITLES = {
    "server": "Listening, connections and requests",
    "process": "Processes",
    "tls": "TLS",
    "h2": "HTTP/2 and WebSocket",
    "log": "Logging and observability",
    "app": "What to serve",
}

USAGE = """\
usage: skitai serve [APP] [--NAME VALUE ...] [start|stop|restart|status] [-d]
       skitai config [APP] [--NAME VALUE ...]
       skitai --help | --version

commands:
  serve    serve APP: "module:attr", a package with __app__, an app file or a static directory
           (SKITAI_APP / SKITAI_MOUNTS when APP is omitted); `skitai serve --help` lists every setting
  config   print the effective configuration and where each value comes from

Every setting has one name: skitai.run(workers=2), SKITAI_WORKERS=2, --workers 2.
Precedence: defaults < code < environment < command line.
"""


def settings_help() -> str:
    """Help text for every setting, generated from the one definition."""
    out = []
    groups: dict[str, list] = {}
    for s in SETTINGS:
        groups.setdefault(s.group, []).append(s)
    for group, items in groups.items():
        out.append(f"{GROUP_TITLES.get(group, group)}:")
        for s in items:
            meta = "" if isinstance(s.parser, Bool) else " VALUE"
            default = "-" if s.default in (None, "", ()) else s.format(s.default)
            out.append(f"  {s.flag}{meta}   (env {s.env}; default {default})")
            body = f"{s.help} Accepted: {s.accepted}."
            out.append(textwrap.fill(body, width=100, initial_indent="      ", subsequent_indent="      "))
        out.append("")
    return "\n".join(out)


def serve_help() -> str:
    return (
        "usage: skitai serve [APP] [--NAME VALUE ...] [start|stop|restart|status] [-d]\n\n"
        "APP: \"module:attr\", a package with __app__, an app file (.py) or a static directory.\n"
        "start|stop|restart|status and -d run the server as a daemon (pid file: --pidfile).\n"
        "Boolean settings also take --NAME alone (on) and --no-NAME (off).\n"
        "--devel turns debug and use_reloader on, ---production turns both off,\n"
        "-v logs to the console even when a logpath is set.\n\n" + settings_help()
    )


def split_args(tokens: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """Split into (positionals, setting tokens for parse_argv, short flags like -d)."""
    positionals: list[str] = []
    options: list[str] = []
    shorts: list[str] = []
    i = 0
    tokens = list(tokens)
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.startswith("--"):
            options.append(tok)
            if "=" in tok:
                continue
            flag = tok.replace("_", "-")
            setting = BY_FLAG.get(flag)
            if setting is None:
                continue  # parse_argv names the unknown flag, or it is --no-NAME
            if isinstance(setting.parser, Bool):
                if i < len(tokens) and not tokens[i].startswith("-"):
                    try:
                        setting.parse(tokens[i])
                    except ValueError:
                        continue
                    options.append(tokens[i])
                    i += 1
                continue
            if i < len(tokens):
                options.append(tokens[i])
                i += 1
        elif tok in MODE_FLAGS:
            options.append(tok)
        elif tok.startswith("-") and len(tok) > 1:
            shorts.append(tok)
        else:
            positionals.append(tok)
    return positionals, options, shorts


def _command_from(positionals: list[str], shorts: list[str]) -> str | None:
    command = None
    for s in shorts:
        if s not in SHORT_COMMANDS:
            raise ConfigError(repr(s), "command line",
                              "-d (start), -s (stop), -r (restart) or --NAME VALUE", problem="unknown option")
        command = SHORT_COMMANDS[s]
    for p in positionals:
        if p not in COMMANDS:
            raise ConfigError(repr(p), "command line", "start, stop, restart or status",
                              problem="unexpected argument")
        command = p
    return command


def build_table(prefs: Preferences, table: Any = None) -> Any:
    """The mount table: ``table`` (the script's mounts) plus ``prefs.app`` at / and ``prefs.mounts``."""
    if table is None:
        from .mounts.table import MountTable

        table = MountTable()
    if prefs.app:
        table.add("/", prefs.app)
    for point, spec in prefs.mounts:
        table.add(point, spec)
    return table


def _launch(command: str | None, prefs: Preferences, table: Any) -> int:
    import skitai

    skitai._prefs = prefs  # skitai.is_devel() and friends in the (forked) workers
    if getattr(prefs, "ssl_certfile", None):  # a bad certificate is a start-up error, not a crash loop
        from .server.tls import TLSConfigError, context_from_prefs
        try:
            context_from_prefs(prefs)
        except TLSConfigError as e:
            print(f"skitai: {e}", file=sys.stderr)
            return EXIT_CONFIG
    if getattr(prefs, "uds", None) and command in (None, "start", "restart"):
        from .process.sockets import check_unix
        try:  # a daemon start asks its pid file whether it is running, not the socket
            check_unix(prefs, live=command is None)
        except ConfigError as e:
            print(str(e), file=sys.stderr)
            return EXIT_CONFIG
    if command is not None:
        from .process import daemon

        return int(daemon.command(command, prefs, table) or 0)
    from .process import master

    return int(master.main(prefs, table) or 0)


def run_script(code: dict[str, Any], argv: Sequence[str], table: Any = None) -> int:
    """``skitai.run(**code)`` in a script run as ``python app.py [command] [-d] [--NAME VALUE ...]``."""
    try:
        positionals, options, shorts = split_args(argv)
        if any(t in ("-h", "--help") for t in argv):
            print("usage: python SCRIPT [start|stop|restart|status] [-d|-s|-r] [--NAME VALUE ...]\n")
            print(settings_help())
            return 0
        prefs = resolve(code, os.environ, options)
        command = _command_from(positionals, shorts)
        table = build_table(prefs, table)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return EXIT_CONFIG
    return _launch(command, prefs, table)


def _serve_prefs(args: Sequence[str]) -> tuple[Preferences, list[str], list[str]]:
    positionals, options, shorts = split_args(args)
    if positionals and positionals[0] not in COMMANDS:
        # APP on the command line is the `app` setting with the highest precedence
        options = ["--app", positionals[0], *options]
        positionals = positionals[1:]
    prefs = resolve({}, os.environ, options)
    return prefs, positionals, shorts


def cmd_serve(args: Sequence[str]) -> int:
    if any(t in ("-h", "--help") for t in args):
        print(serve_help())
        return 0
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        prefs, positionals, shorts = _serve_prefs(args)
        command = _command_from(positionals, shorts)
        if not prefs.app and not prefs.mounts and command in (None, "start", "restart"):
            raise ConfigError("app", "command line", "APP argument, SKITAI_APP or SKITAI_MOUNTS",
                              problem="missing value for")
        table = build_table(prefs)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return EXIT_CONFIG
    if command in (None, "start", "restart"):
        # the effective configuration, once, where the operator looks first (container logs)
        print(describe(prefs), file=sys.stderr, flush=True)
    return _launch(command, prefs, table)


def cmd_config(args: Sequence[str]) -> int:
    if any(t in ("-h", "--help") for t in args):
        print("usage: skitai config [APP] [--NAME VALUE ...]\n\n" + settings_help())
        return 0
    try:
        prefs, positionals, shorts = _serve_prefs(args)
        _command_from(positionals, shorts)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return EXIT_CONFIG
    print(describe(prefs))
    mounts = ([("/", prefs.app)] if prefs.app else []) + list(prefs.mounts)
    if mounts:
        print("mounts:")
        for point, spec in mounts:
            print(f"  {point} -> {spec}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `skitai serve --help | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(USAGE, file=sys.stderr)
        return EXIT_CONFIG
    if args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args[0] == "--version":
        from . import __version__

        print(f"skitai {__version__}")
        return 0
    if args[0] == "serve":
        return cmd_serve(args[1:])
    if args[0] == "config":
        return cmd_config(args[1:])
    print(f"skitai: unknown command {args[0]!r}; accepted: serve, config (see skitai --help)", file=sys.stderr)
    return EXIT_CONFIG
