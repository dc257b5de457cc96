# E4 "Pets" app of the Atila docs (old was style)
from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return "<h1>something</h1>"

@app.route ("/apis/pets/<int:id>")
def pets (was, id):
    return was.API ({"id": id, "kind": "dog", "name": "Monk"})

@app.route ("/version")
def version (was):
    return was.API (version = was.request.version)
