from atila import Atila

app = Atila (__name__)

@app.route ("/query")
def query (was, q):
    return was.API (q = q)
