import skitai

pref = skitai.pref ()
pref.config.urlfile = "urls.txt"
skitai.mount ("/v1", "app_v1/app.py", "app", pref)
skitai.run ()
