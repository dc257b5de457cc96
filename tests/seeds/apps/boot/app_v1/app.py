from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return was.API (urllist = was.app.config.get ("urllist"))
