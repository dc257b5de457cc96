"""Newest Atila style package with __config__(pref) (runs at mount time) and __app__()."""

import os

import skitai

CONFIGURED = []


def __config__(pref):
    CONFIGURED.append(pref)
    pref.config["from_config"] = True
    skitai.mount("/assets", os.path.join(os.path.dirname(__file__), "..", "mounts_static"))


class App:
    def __init__(self):
        self.config = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": repr(sorted(self.config.items())).encode()})


def __app__():
    return App()
