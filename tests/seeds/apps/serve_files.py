import files_app

import skitai

skitai.mount ("/", files_app)
skitai.run ()
