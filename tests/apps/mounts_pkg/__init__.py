"""Newest Atila style: a package exposing __app__()."""

MOUNTED = []


class App:
    def __init__(self):
        self.config = {"base": 1}
        self.debug = False

    def __skitai_mount__(self, module=None, point=None, pref=None):
        MOUNTED.append((module.__name__ if module else None, point, self.debug, dict(self.config)))

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return
        body = f"pkg debug={self.debug} config={sorted(self.config.items())}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def __app__():
    return App()
