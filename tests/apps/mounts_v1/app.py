def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"v1 " + environ["SCRIPT_NAME"].encode("latin-1") + b" " + environ["PATH_INFO"].encode("latin-1")]


def other(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"v1-other"]
