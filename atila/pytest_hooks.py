"""``from atila.pytest_hooks import *`` in a conftest.py (as the tutorials do).

It adds the ``--docs`` option the documentation mentions (collect API
documentation while testing); the option is accepted and exposed as the
``docs`` fixture so test suites written for the original keep running.
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_addoption", "docs"]


def pytest_addoption(parser) -> None:
    try:
        parser.addoption("--docs", action="store_true", default=False,
                         help="collect API documentation while testing (Atila)")
    except ValueError:
        pass  # already added by another conftest


@pytest.fixture
def docs(request) -> bool:
    """True when pytest runs with ``--docs``."""
    try:
        return bool(request.config.getoption("--docs"))
    except ValueError:
        return False
