import pets

import skitai

skitai.mount ("/", pets)
skitai.run (port = 5000)
