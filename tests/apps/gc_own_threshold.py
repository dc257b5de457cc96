"""A WSGI app with its own collector policy, set at import: the worker must keep it."""

import gc

from tests.apps.mounts_wsgi import gc_info

gc.set_threshold(500, 5, 5)
app = gc_info
