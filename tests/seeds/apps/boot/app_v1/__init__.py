# [000] bootstrap (pref) next to app.py: read a URL file into pref.config.urllist
import os


def bootstrap (pref):
    with open (os.path.join (os.path.dirname (__file__), pref.config.urlfile)) as f:
        pref.config.urllist = [line.strip () for line in f if line.strip ()]
