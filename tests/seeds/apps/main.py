# Atila docs 13 and 27.4: two apps on one server, cross-app URL building
from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return was.API (a = was.urlfor ("search:query", "Your Name"),
                    b = was.apps ["search"].build_url ("query", "Your Name"))
