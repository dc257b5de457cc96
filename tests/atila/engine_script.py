"""Seed-style launch script: the engine_pkg Atila package mounted at /v1 (used by test_engine.py)."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import skitai  # noqa: E402
from tests.atila import engine_pkg  # noqa: E402

if __name__ == "__main__":
    with skitai.preference() as pref:
        pref.debug = False
        pref.config.PRETTY_JSON = True
        pref.access_control_allow_origin = ["http://front.test"]
        skitai.mount("/v1", engine_pkg, pref)
    skitai.run(name="atila_engine_script")
