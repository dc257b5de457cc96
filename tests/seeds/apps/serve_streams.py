import streams

import skitai

skitai.mount ("/", streams)
skitai.run ()
