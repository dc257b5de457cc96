# stands in for a Django project's wsgi.py (skitai docs 4.4)
def application (env, start_response):
    start_response ("200 OK", [("Content-Type", "text/plain")])
    return [("django " + env ["SCRIPT_NAME"] + "|" + env ["PATH_INFO"]).encode ()]
