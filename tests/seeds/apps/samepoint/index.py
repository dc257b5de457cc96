from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return "app index"

@app.route ("/api")
def api (was):
    return was.API (prefA = was.app.config.get ("prefA"))
