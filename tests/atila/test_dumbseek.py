"""The Dumb Seek tutorial of atila-docs-newest: its own assertions, plus the error cases."""

import importlib
import sys
from pathlib import Path

import pytest

import atila

from .harness import Client

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dumbseek"


@pytest.fixture()
def dumbseek():
    """A fresh import of the package (its in-memory index starts empty)."""
    sys.path.insert(0, str(EXAMPLE))
    for name in [n for n in sys.modules if n == "dumbseek" or n.startswith("dumbseek.")]:
        del sys.modules[name]
    try:
        yield importlib.import_module("dumbseek")
    finally:
        sys.path.remove(str(EXAMPLE))
        for name in [n for n in sys.modules if n == "dumbseek" or n.startswith("dumbseek.")]:
            del sys.modules[name]


def test_analyze(dumbseek):
    from dumbseek import analyzer
    assert analyzer.analyze('Detective Holmes') == ['detective', 'holmes']


def test_index(dumbseek):
    from dumbseek.index import db, indexer, searcher
    assert indexer.index('Detective Holmes') == 0
    assert db.DOCUMENTS[0] == 'Detective Holmes'
    assert db.INVERTED_INDEX['detective'] == {0}
    assert indexer.index('Detective Monk') == 1
    assert db.INVERTED_INDEX['monk'] == {1}
    assert searcher.search('detective holmes') == ['Detective Holmes']


def test_api(dumbseek):
    with Client(atila.load(dumbseek)) as engine:
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
        r = engine.get('/api/documents', params={'q': 'nothing'})
        assert r.json()['result'] == []


def test_error_cases(dumbseek):
    with Client(atila.load(dumbseek)) as engine:
        r = engine.get('/api/documents/99')
        assert r.status_code == 404 and r.json()['code'] == 404
        r = engine.get('/api/documents')
        assert r.status_code == 400 and r.json()['missing'] == ['q']
        r = engine.put('/api/tokens')
        assert r.status_code == 405
        assert set(r.headers['allow'].split(', ')) == {'POST', 'OPTIONS'}
        r = engine.delete('/api/documents')
        assert r.status_code == 405


def test_still_a_plain_library(dumbseek):
    # importing the package has no side effects: no app is built until __app__ is called
    assert dumbseek.NAME == 'Dumb Seek' and dumbseek.__version__ == '1.0'
    assert callable(dumbseek.__app__)
