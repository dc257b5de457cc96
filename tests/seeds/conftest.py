"""Fixtures for the seed conformance tests: seed-style scripts under tests/seeds/apps run as real servers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import skitai

APPS = Path(__file__).resolve().parent / "apps"


@pytest.fixture()
def apps_path():
    """tests/seeds/apps on sys.path for in-process tests (modules imported fresh)."""
    sys.path.insert(0, str(APPS))
    before = set(sys.modules)
    try:
        yield APPS
    finally:
        sys.path.remove(str(APPS))
        for name in set(sys.modules) - before:
            if not name.startswith(("atila", "skitai", "_")):
                sys.modules.pop(name, None)


def launch(script: str, *args: str):
    """``skitai.test_client`` on a script of tests/seeds/apps, one worker, run from that directory."""
    return skitai.test_client(str(APPS / script), args=["--workers", "1", *args], cwd=str(APPS))
