"""A MountTable as a plain ASGI app (for running it under another ASGI server)."""

import os

from skitai.mounts import MountTable

HERE = os.path.dirname(os.path.abspath(__file__))

table = MountTable()
table.add("/flask", "tests.apps.mounts_flask:app")
table.add("/asgi", "tests.apps.mounts_asgi:app")
table.add("/s", os.path.join(HERE, "mounts_static"), max_age=60)
