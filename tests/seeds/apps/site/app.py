# Seed-style launch script (skitai docs sections 2-12): every documented mount form, pref, log_off,
# set_keep_alive and set_request_timeout, then skitai.run.
import os

import skitai


def app (env, start_response):
    start_response ("200 OK", [("Content-Type", "text/plain")])
    return [("root " + env ["PATH_INFO"]).encode ()]


def site1 (env, start_response):
    start_response ("200 OK", [("Content-Type", "text/plain")])
    return [b"site1"]


if __name__ == "__main__":
    import wissen

    pref = skitai.pref ()
    pref.use_reloader = 1
    pref.debug = 1
    pref.config ["prefA"] = 1
    pref.config.prefB = 2
    pref.max_client_body_size = 1024

    skitai.mount ('/', app)
    skitai.mount ('/', site1, host = 'www.site1.com')
    skitai.mount ('/v1', 'app_v1/app.py', 'app')
    skitai.mount ('/v2', 'app_v2/app')
    skitai.mount ('/v3', 'app_v3')
    skitai.mount ('/static', 'static')
    skitai.mount ('/wissen', wissen, 'app')
    skitai.mount ('/wissen1', (wissen, 'app_v1.py'), 'app')
    skitai.mount ('/atila', 'atilaapp.py', 'app', pref)
    skitai.log_off ('/static/', '*.css')
    skitai.set_keep_alive (2)
    skitai.set_request_timeout (3)
    assert skitai.getswd () == os.path.dirname (os.path.abspath (__file__))
    assert skitai.abspath ('static') == os.path.join (skitai.getswd (), 'static')
    skitai.run (address = "127.0.0.1", port = 5000, logpath = os.environ.get ("SEED_LOGPATH") or None)
