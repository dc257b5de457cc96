# Newest-style package with every documented module life-cycle hook (Atila docs 5.1)
import os

import skitai

__version__ = "1.0"
EVENTS = []


def _mark (name):
    path = os.environ.get ("SEED_HOOK_LOG")
    if path:
        with open (path, "a") as f:
            f.write (name + "\n")


def __config__ (pref):
    pref.config.FROM_CONFIG = "yes"
    skitai.mount ("/assets", os.path.join (os.path.dirname (__file__), "static"))
    skitai.log_off ("/assets/")


def __app__ ():
    from atila import Atila
    return Atila (__name__)


def __setup__ (context, app):
    app.resource = "pool"
    _mark ("setup")


def __mount__ (context, app):
    @app.route ("/")
    def index (context):
        return context.API (config = context.app.config.get ("FROM_CONFIG"), resource = context.app.resource)


def __umounted__ (context, app):
    _mark ("umounted")
