# skitai docs 4.1: a static dir and an app at the same point, and the script mounting itself (__file__)
import skitai


def app (env, start_response):
    start_response ("200 OK", [("Content-Type", "text/plain")])
    return [b"self-mounted"]


if __name__ == "__main__":
    pref = skitai.pref ()
    pref.config ["prefA"] = 1
    skitai.mount ('/', 'static')
    skitai.mount ('/', 'index.py', 'app', pref)
    skitai.mount ('/self', __file__, 'app')
    skitai.run ()
