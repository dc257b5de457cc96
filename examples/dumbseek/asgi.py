"""The same app for any other ASGI server: ``uvicorn asgi:app`` from this directory."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dumbseek  # noqa: E402

import atila  # noqa: E402

app = atila.load(dumbseek)
