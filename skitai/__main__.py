"""``python -m skitai`` is the ``skitai`` command."""

import sys

from skitai.cli import main

if __name__ == "__main__":
    sys.exit(main())
