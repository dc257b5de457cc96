# [001] app.run () (added in 0.9)
from atila import Atila

app = Atila (__name__)

@app.route ("/")
def index (was):
    return "app.run works"

if __name__ == "__main__":
    app.run (port = 5000)
