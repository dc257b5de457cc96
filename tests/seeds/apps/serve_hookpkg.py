import hookpkg

import skitai

with skitai.preference () as pref:
    skitai.mount ("/", hookpkg, pref)
skitai.run (port = 5000, name = "hookpkg")
