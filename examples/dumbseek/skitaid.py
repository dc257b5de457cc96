"""Launch script of the Dumb Seek tutorial: ``python3 skitaid.py --devel``."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dumbseek  # noqa: E402

import skitai  # noqa: E402

if __name__ == '__main__':
    with skitai.preference() as pref:
        skitai.mount('/', dumbseek, pref)
    skitai.run(port=5000, name='dumbseek')
