def app (env, start_response):
    start_response ("200 OK", [("Content-Type", "text/plain")])
    return [b"wissen app_v1"]
