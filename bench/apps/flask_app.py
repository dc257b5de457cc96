"""The Flask app for the WSGI scenarios: same routes and bodies as ``asgi_plain``."""

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.route("/hello")
def hello():
    return Response("Hello, World!", mimetype="text/plain")


@app.route("/json")
def json_route():
    return jsonify(message="Hello, World!")
