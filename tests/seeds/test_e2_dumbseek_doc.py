"""E2: the "Testing API" code of atila-docs-newest, run the way the doc runs it (cwd = a tests dir next
to examples/, relative script path, port 30371 unless taken, silent=False)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest

import skitai
from atila.pytest_hooks import *  # noqa: F403  (the doc does this)

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def launch(monkeypatch):
    monkeypatch.chdir(TESTS)  # '../examples/dumbseek/skitaid.py' is relative to tests/
    port = 30371
    from skitai.testing.server import _port_is_free
    if not _port_is_free(port):
        port = None
    return partial(skitai.test_client, port=port, silent=False)


def test_api(launch):
    assert os.path.isfile("../examples/dumbseek/skitaid.py")
    with launch('../examples/dumbseek/skitaid.py') as engine:
        r = engine.get('/')
        assert r.json()['app'] == 'Dumb Seek'
        r = engine.post('/api/tokens', data={'query': 'Detective Holmes'})
        assert r.json()['result'] == ['detective', 'holmes']
        r = engine.post('/api/documents', data={'document': 'Detective Holmes'})
        assert r.status_code == 201
        assert r.json()['url'] == '/api/documents/0'
        r = engine.get('/api/documents', params={'q': 'Detective Holmes'})
        assert r.json()['result'] == ['Detective Holmes']
        r = engine.get('/api/documents/0')
        assert r.json()['document'] == 'Detective Holmes'
        r = engine.post('/api/documents', data={'document': 'Detective Monk'})
        assert r.json()['url'] == '/api/documents/1'
        r = engine.get('/api/documents', params={'q': 'detective'})
        assert r.json()['result'] == ['Detective Holmes', 'Detective Monk']
        # inferred cases of section 41 E2
        assert engine.get('/api/documents/99').status_code == 404
        assert engine.get('/api/documents', params={'q': 'nothing'}).json()['result'] == []
        assert engine.get('/api/documents').status_code == 400
        assert engine.put('/api/tokens').status_code == 405


def test_script_path_relative_to_the_test_file(monkeypatch, tmp_path):
    """From another working directory a relative script path is found next to the calling test file."""
    monkeypatch.chdir(tmp_path)
    with skitai.test_client('../../examples/dumbseek/skitaid.py') as engine:
        assert engine.get('/').json() == {'app': 'Dumb Seek'}
