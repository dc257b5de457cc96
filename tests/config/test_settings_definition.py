"""The one definition is consistent: unique names, defaults that survive their own parser."""

from __future__ import annotations

import pytest

from skitai.config.settings import BY_ENV, BY_FLAG, BY_NAME, SETTINGS


def test_names_envs_and_flags_are_unique():
    assert len(BY_NAME) == len(BY_ENV) == len(BY_FLAG) == len(SETTINGS)


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_default_round_trips_through_its_documented_form(setting):
    assert setting.help and setting.accepted
    assert setting.name == setting.name.lower() and " " not in setting.name
    if setting.default is None:
        return
    # what README and --help show as the default is itself an accepted value meaning the same
    shown = setting.format(setting.default)
    assert setting.parse(shown) == setting.parse(setting.default) == setting.default


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_garbage_is_refused_or_is_text(setting):
    try:
        setting.parse("\x00not a valid value\x00")
    except ValueError:
        return
    # only free text (and lists of free text) take anything
    assert setting.parser.kind == "str" or (setting.parser.kind == "list" and setting.parser.item is None)
