# ``python3 devel.py --devel`` (Atila docs 3.2): development mode
import skitai
from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return was.API (devel = skitai.is_devel (), debug = was.app.debug)

@app.route ("/boom")
def boom (was):
    raise ValueError ("boom")

if __name__ == "__main__":
    skitai.mount ("/", app)
    skitai.run (port = 5000, name = "devel")
