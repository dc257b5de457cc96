"""The per-connection HPACK decoder cache gives exactly what hpack's own decoder gives."""

import random

from hpack import Decoder, Encoder

from skitai.server.h2 import _caching_decoder

NAMES = [b":method", b":path", b":authority", b":scheme", b"user-agent", b"cookie", b"x-a"]


def test_same_headers_as_hpack_for_random_streams_of_blocks():
    rnd = random.Random(7)
    for trial in range(100):
        enc = Encoder()
        if trial % 3 == 0:
            enc.header_table_size = rnd.choice([0, 64, 256, 4096])  # evictions and size updates
        plain, cached = Decoder(), _caching_decoder(Decoder())
        assert type(cached).__name__ == "_CachingDecoder"
        prev = None
        for _ in range(40):
            if prev is not None and rnd.random() < 0.3:
                hs = prev  # the same headers again: mostly the same bytes (cache hits)
            else:
                hs = [(n, rnd.choice([b"1", b"/hello", b"x" * rnd.randint(1, 80)]))
                      for n in rnd.sample(NAMES, rnd.randint(1, 6))]
            prev = hs
            block = enc.encode(hs, huffman=rnd.random() < 0.5)
            assert cached.decode(block, raw=True) == plain.decode(block, raw=True)


def test_repeated_block_is_served_from_the_cache_and_the_limit_still_applies():
    enc, dec = Encoder(), _caching_decoder(Decoder())
    hs = [(b":method", b"GET"), (b":path", b"/hello"), (b":scheme", b"http"), (b"user-agent", b"t")]
    first = enc.encode(hs)
    assert dec.decode(first, raw=True) == hs
    again = enc.encode(hs)  # now all indexed: a few bytes
    assert len(again) < len(first)
    assert dec.decode(again, raw=True) == hs
    assert len(dec.skitai_cache) == 1
    assert dec.decode(again, raw=True) == hs
    dec.max_header_list_size = 10  # a smaller limit must not be bypassed by the cache
    try:
        dec.decode(again, raw=True)
    except Exception as exc:  # hpack's OversizedHeaderListError
        assert "larger than" in str(exc)
    else:
        raise AssertionError("the header list limit was not applied")


def test_encoder_cache_gives_the_same_bytes_as_hpack():
    from skitai.server.h2 import _caching_encoder

    rnd = random.Random(11)
    values = [b"200", b"text/plain", b"13", b"Sun, 22 Nov 2026 07:00:00 GMT", b"x" * 90]
    for trial in range(100):
        plain, cached = Encoder(), _caching_encoder(Encoder())
        assert type(cached).__name__ == "_CachingEncoder"
        dec = Decoder()
        prev = None
        for i in range(40):
            if trial % 4 == 0 and i % 10 == 5:
                size = rnd.choice([0, 64, 256, 4096])  # the peer's SETTINGS_HEADER_TABLE_SIZE
                plain.header_table_size = size
                cached.header_table_size = size
            if prev is not None and rnd.random() < 0.5:
                hs = list(prev)
            else:
                hs = [(b":status", rnd.choice(values[:1]))] + [
                    (n, rnd.choice(values)) for n in (b"content-type", b"content-length", b"date", b"x-b")
                    if rnd.random() < 0.7]
            prev = hs
            huffman = rnd.random() < 0.8
            a, b = plain.encode(hs, huffman), cached.encode(hs, huffman)
            assert a == b
            assert dec.decode(b, raw=True) == hs
    # a sensitive (never indexed) field is never served from the cache
    enc = _caching_encoder(Encoder())
    assert enc.encode([(b"x-token", b"secret", True)]) == Encoder().encode([(b"x-token", b"secret", True)])
    assert enc.encode([(b"x-token", b"secret", True)]) == Encoder().encode([(b"x-token", b"secret", True)])
    assert not enc.skitai_cache
