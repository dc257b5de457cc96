# skitai docs 4.4 and 8: Django mounting forms and the timeout calls of a seed script
import skitai

pref = skitai.pref ()
pref.use_reloader = True
pref.debug = True
skitai.set_network_timeout (20)
skitai.set_backend_keep_alive (1200)
skitai.set_proxy_keep_alive (channel = 60, tunnel = 600)
skitai.set_worker_critical_point (cpu_percent = 90.0, continuous = 3, interval = 20)
skitai.mount ("/dj", "mydjango/mydjango/wsgi.py", "application", pref, path = "./mydjango")
skitai.mount_django ("/dj2", "mydjango/mydjango/wsgi.py", pref)
skitai.run ()
