import math_app

import skitai

skitai.mount ("/math", math_app)
skitai.run ()
