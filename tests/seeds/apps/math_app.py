# E5 of the Atila docs: parameters, validation and URL building; mounted at /math
import re

from atila import Atila

app = Atila (__name__)

@app.route ("/add")
def add (was, num1, num2):
    return str (int (num1) + int (num2))

@app.route ("/hello")
def hello_world (was, num = 8):
    return str (num)

@app.route ("/hello/<name>")
def hello (was, name):
    return name

@app.route ("/episode/<int:id>", methods = ["GET", "POST", "OPTIONS"])
def episode (was, id = None, topic = None, comment = None):
    return was.API (id = id, topic = topic, comment = comment)

@app.route ("/test")
@app.inspect ("ARGS", ["id"], ints = ["id"])
def test (was, id):
    return was.API (id = id, type = type (id).__name__)

@app.route ("/range")
@app.inspect ("ARGS", a__gte = 5, b__between = (-4, -1), c__in = (1, 2))
def rng (was, **k):
    return ""

@app.route ("/regex")
@app.inspect ("ARGS", a = re.compile ("^hans"), b__len__between = (4, 8))
def regex (was, **k):
    return "ok"

@app.route ("/scores", methods = ["POST"])
@app.require ("JSON", data___scores__1__gte = 10)
def scores (was, **k):
    return "ok"

@app.route ("/navigate")
def navigate (was, limit = 10, pageno = 1):
    return was.urlpatch ("navigate", pageno = 3)

@app.route ("/user/<id>")
def user (was, id):
    return was.basepath ("user")

@app.route ("/urls")
def urls (was):
    return was.API (
        a = was.urlfor ("add", 10, 40),
        b = was.urlfor ("add", 10, num2 = 60),
        c = was.urlfor (add, 10, 40),
        d = was.urlfor ("episode"),
        e = was.urlfor ("episode", 100),
        f = was.urlfor ("hello", "Your Name"),
        g = was.basepath ("navigate"),
        h = app.build_url ("add", 10, 40),
        i = was.ab ("add", 1, 2),
    )
