"""The README's configuration table is generated from the one definition."""

from __future__ import annotations

import subprocess

from skitai.config import doc
from skitai.config.settings import SETTINGS
from tests.support import PYTHON, ROOT


def test_readme_table_matches_settings():
    readme = (ROOT / "README.md").read_text()
    assert doc.current_table(readme) == doc.render_table(), (
        "README configuration table is stale: run python -m skitai.config.doc --write")


def test_every_setting_has_a_row():
    table = doc.render_table()
    for s in SETTINGS:
        assert f"| `{s.name}` | `{s.env}`" in table
        assert f"`{s.flag}`" in table


def test_doc_module_prints_and_checks():
    out = subprocess.run([PYTHON, "-m", "skitai.config.doc"], capture_output=True, text=True, cwd=ROOT,
                         timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == doc.render_table()
    check = subprocess.run([PYTHON, "-m", "skitai.config.doc", "--check"], capture_output=True, text=True,
                           cwd=ROOT, timeout=30)
    assert check.returncode == 0, check.stderr


def test_splice_replaces_only_the_table():
    text = f"intro\n{doc.BEGIN}\nold\n{doc.END}\nafter\n"
    new = doc.splice(text, "T")
    assert new == f"intro\n{doc.BEGIN}\nT\n{doc.END}\nafter\n"
