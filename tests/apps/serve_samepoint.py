"""Launch script of the newest doc's Django setup: the package's __config__ mounts a WSGI app at "/"
and the package's Atila app is mounted at "/" too (tests/mounts/test_samepoint.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import skitai  # noqa: E402
import tests.apps.mounts_samepoint as backend  # noqa: E402

if __name__ == "__main__":
    with skitai.preference() as pref:
        skitai.mount("/", backend, pref)
    skitai.run(port=5000)
