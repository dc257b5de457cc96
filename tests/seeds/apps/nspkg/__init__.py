# [001] standard package structure: services/, older hook signatures (app, mntopt)
__version__ = "1.0"


def __app__ ():
    from atila import Atila
    return Atila (__name__)


def __setup__ (app, mntopt):
    from . import services
    app.mount ('/', services)
