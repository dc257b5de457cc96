from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return was.API (prefA = was.app.config.get ("prefA"), prefB = was.app.config.get ("prefB"),
                    debug = was.app.debug, use_reloader = was.app.use_reloader)

@app.route ("/upload", methods = ["POST"])
def upload (was, **form):
    return str (len (was.request.body))
