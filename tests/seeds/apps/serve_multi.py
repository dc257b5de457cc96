import skitai

skitai.mount ("/", "main.py")
skitai.mount ("/search", "search.py")
skitai.run ()
