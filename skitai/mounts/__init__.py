"""skitai.mounts: the mount table, app loading, the WSGI adapter, ASGI lifespan, static directories."""

from .loader import MountError, detect_interface
from .static import StaticFiles
from .table import Mount, MountTable
from .wsgi import WSGIAdapter, queue_depth

__all__ = ["MountTable", "Mount", "MountError", "StaticFiles", "WSGIAdapter", "detect_interface", "queue_depth"]
