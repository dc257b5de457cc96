"""The demo served by ./scripts/demo: a Skitai launch script mounting an Atila app.

    python examples/demo/app.py            # http://127.0.0.1:5000/
    python examples/demo/app.py --port 8080 --workers 1

``demoapp`` (next to this file) is an Atila package in the newest style
(``__app__`` / ``__setup__`` / ``__mount__``, ``context``, async routes);
the ``static`` directory shares "/" with it: GET of an existing file is
served from the directory, everything else goes to the app. No external
services are needed. Every setting can be changed without editing the file:
``--workers 2``, ``SKITAI_WORKERS=2`` (see ``python app.py --help``).

    GET  /                        static/index.html (calls the API)
    GET  /hello.txt               text
    GET  /api/hello/<name>?greeting=Hi  JSON (also /api/hello?name=)
    GET  /api/status              JSON uptime
    POST /api/echo                the JSON body back
    GET  /healthz /readyz /metrics  the engine's probes and metrics
"""

import demoapp

import skitai

if __name__ == "__main__":
    skitai.mount("/", "static")      # static directory next to this script
    skitai.mount("/", demoapp)       # the Atila app (its JSON API is at /api)
    skitai.run(address="127.0.0.1", port=5000)
