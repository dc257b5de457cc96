"""Launcher for the ORIGINAL skitai + atila from PyPI (bench/.work/venv-orig only).

A speed anchor, written from the original documentation: mount the Atila app
module and run. Port and workers come from BENCH_PORT / BENCH_WORKERS; the
access log is turned off for every path like every other server in the bench.
The app's handlers are ``async def``, which the original needs enabled
(``skitai.enable_async()``, as its documentation says).
"""

import os

import atila_app

import skitai

if __name__ == "__main__":
    skitai.mount("/", atila_app)
    skitai.log_off("/")
    skitai.enable_async()
    skitai.run(
        address="127.0.0.1",
        port=int(os.environ.get("BENCH_PORT", "5000")),
        workers=int(os.environ.get("BENCH_WORKERS", "1")),
        name=f"bench_orig_{os.environ.get('BENCH_PORT', '5000')}",
    )
