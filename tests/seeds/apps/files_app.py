import os

from atila import Atila

app = Atila (__name__)
app.config.STATIC_ROOT = os.path.join (os.path.dirname (__file__), "static")

@app.route ("/robots.txt")
def robots (was):
    return was.Static ("robots.txt")

@app.route ("/big")
def big (was):
    return was.Static ("big.txt")

@app.route ("/big-file")
def big_file (was):
    return was.File (os.path.join (app.config.STATIC_ROOT, "big.txt"))
