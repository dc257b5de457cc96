"""The newest Atila doc's Django setup (atila-features 25.2): ``__config__`` mounts a WSGI app at "/"
(Django there), then the package's own Atila app is mounted at "/" too. Both must answer."""

CONFIGURED = []


def django_like(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"wsgi {environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()]


def __config__(pref):
    import skitai

    CONFIGURED.append(pref)
    skitai.mount("/", django_like, name="orm")


def __app__():
    import atila

    return atila.Atila(__name__)


def __mount__(context, app):
    @app.route("/api/recent-posts", methods=["GET"])
    def recent(context):
        return context.API(result=["post"])

    @app.route("/items/<int:n>")
    def item(context, n):
        return context.API(n=n)
