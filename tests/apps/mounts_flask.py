import time

from flask import Flask, Response, request, url_for

app = Flask(__name__)


@app.route("/hello")
def hello():
    return "Hello, " + request.args.get("name", "world")


@app.route("/links")
def links():
    return url_for("hello", _external=False) + " " + url_for("hello", _external=True)


@app.route("/echo", methods=["POST"])
def echo():
    return request.get_data()


@app.route("/p/<path:rest>")
def page(rest):
    return rest


@app.route("/events")
def events():
    def gen():
        yield "data: one\n\n"
        time.sleep(1.0)
        yield "data: two\n\n"
    return Response(gen(), mimetype="text/event-stream")
