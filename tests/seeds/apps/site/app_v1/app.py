def app (env, start_response):
    start_response ("200 OK", [("Content-Type", "text/plain")])
    return [("v1 " + env ["SCRIPT_NAME"] + " " + env ["PATH_INFO"]).encode ()]
