# skitaid.py (E1 launch script of the Atila docs)
import myservice

import skitai

skitai.mount ("/", myservice)
skitai.run ()
