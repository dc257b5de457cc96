"""The ready pipe payload (use_reloader): which files a worker reports."""

import os
import sys

from skitai.process import notify


def test_notify_reports_only_project_files():
    files = notify.module_files()
    assert os.path.abspath(notify.__file__) in files
    assert not any(f == os.path.abspath(os.__file__) for f in files)  # stdlib left out
    assert not any("site-packages" in f for f in files)
    assert os.path.abspath(sys.modules["psutil"].__file__) not in files
