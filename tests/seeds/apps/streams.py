# Atila docs 12.8: generator bodies and threaded data streaming (was.Queue) through the engine
import time

from atila import Atila

app = Atila (__name__)

@app.route ("/stream")
def stream (was):
    def generate ():
        for _ in range (100):
            yield '<CHUNK>'
    return was.response ("200 OK", generate (), headers = [("Content-Type", "text/csv")])

@app.route ("/queue")
def queue (was):
    def produce (queue):
        for i in range (10):
            time.sleep (0.01)
            queue.put (str (i))
        queue.put (None)
    return was.Queue (produce)

@app.route ("/async")
async def async_route (was):
    return was.API (result = "async")
