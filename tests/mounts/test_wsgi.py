"""PEP 3333 adapter: input streaming, write(), close(), exc_info, file_wrapper, errors, threads=0, Flask."""

import asyncio
import hashlib
import json
import os
import threading
import time

import pytest

from skitai.mounts import MountTable, WSGIAdapter, queue_depth
from tests.apps import mounts_wsgi
from tests.apps.mounts_flask import app as flask_app

from .asgi import acall, call, make_scope

ZC = {"http.response.zerocopysend": {}}


def mounted(app, point="/", threads=None, **kw):
    class P:
        pass
    t = MountTable()
    t.add(point, app, **kw)
    if threads is not None:
        p = P()
        p.threads = threads
        p.max_body_size = 0
        t.load(p)
    else:
        t.load()
    return t


@pytest.fixture(params=[4, 0], ids=["threads4", "threads0"])
def threads(request):
    return request.param


def test_input_streamed_in_chunks(threads):
    data = os.urandom(300_000)
    chunks = [data[i:i + 7000] for i in range(0, len(data), 7000)]
    t = mounted(mounts_wsgi.read_input, threads=threads)
    for mode in ("", "all"):
        r = call(t, "POST", "/?" + mode, headers=[("Transfer-Encoding", "chunked")], body=chunks)
        info = json.loads(r.body)
        assert info["size"] == len(data) and info["md5"] == hashlib.md5(data).hexdigest()


def test_input_readline_iteration(threads):
    data = b"".join(b"line %d\n" % i for i in range(1000))
    chunks = [data[i:i + 333] for i in range(0, len(data), 333)]
    t = mounted(mounts_wsgi.read_input, threads=threads)
    r = call(t, "POST", "/?lines", headers=[("Content-Length", str(len(data)))], body=chunks)
    assert json.loads(r.body)["lines"] == 1000


def test_body_is_read_from_the_thread_only_when_the_app_reads():
    """A POST the app ignores must not block; the adapter pre-reads only the first chunk."""
    t = mounted(mounts_wsgi.writer, threads=4)
    r = call(t, "POST", "/", headers=[("Content-Length", "100000")], body=[b"x" * 100, b"y" * 99900])
    assert r.status == 200 and r.body == b"one,two,three"


def test_write_callable(threads):
    t = mounted(mounts_wsgi.writer, threads=threads)
    r = call(t, target="/")
    assert r.body == b"one,two,three" and r.headers["content-length"] == "13"
    # small responses go out in one start + one body message
    assert [m["type"] for m in r.messages] == ["http.response.start", "http.response.body"]


def test_big_write_streams(threads):
    t = mounted(mounts_wsgi.big_writer, threads=threads)
    r = call(t, target="/")
    assert len(r.body) == 500_000 and r.body[:10] == b"A" * 10 and r.body[-1:] == bytes([65 + 49 % 26])
    if threads:
        assert len(r.messages) > 2 and "content-length" not in r.headers
    else:  # on the loop, write() can only buffer (documented)
        assert r.headers["content-length"] == "500000"


def test_streaming_iterator_with_backpressure():
    """Each chunk sent from the thread waits until the (slow) send finished."""
    t = mounted(mounts_wsgi.streaming, threads=4)
    r = asyncio.run(acall(t, make_scope("GET", "/?40"), send_delay=0.001))
    assert len(r.body) == 40 * 8192
    assert r.body[:8192] == b"0" * 8192 and r.body[-8192:] == b"9" * 8192


def test_close_called(threads):
    mounts_wsgi.CLOSED.clear()
    t = mounted(mounts_wsgi.closing_app, threads=threads)
    call(t, target="/?2")
    call(t, target="/?200")   # streamed path
    assert len(mounts_wsgi.CLOSED) == 2


def test_close_called_when_iteration_fails(threads):
    mounts_wsgi.CLOSED.clear()
    t = mounted(mounts_wsgi.closing_failing, threads=threads)
    r = call(t, target="/")
    assert r.status == 500 and len(mounts_wsgi.CLOSED) == 1


def test_close_called_when_client_disconnects():
    mounts_wsgi.CLOSED.clear()
    t = mounted(mounts_wsgi.closing_app, threads=4)

    async def go():
        sent = []

        async def receive():
            await asyncio.sleep(10)

        async def send(m):
            sent.append(m)
            if m["type"] == "http.response.body":
                raise OSError("client went away")
        try:
            await t(make_scope("GET", "/?500"), receive, send)
        except OSError:
            pass
    asyncio.run(go())
    assert len(mounts_wsgi.CLOSED) == 1


def test_exc_info_before_headers_sent_replaces_status(threads):
    t = mounted(mounts_wsgi.exc_info_app, threads=threads)
    r = call(t, target="/")
    assert r.status == 500 and r.headers["x-error"] == "1" and r.body == b"handled"


def test_exc_info_after_headers_sent_reraises():
    mounts_wsgi.CLOSED.clear()
    t = mounted(mounts_wsgi.exc_info_after_sent, threads=4)
    with pytest.raises(RuntimeError, match="after the response started"):
        call(t, target="/")
    assert mounts_wsgi.CLOSED == ["reraised"]


def test_start_response_twice_without_exc_info_is_an_error(threads):
    r = call(mounted(mounts_wsgi.second_start_response, threads=threads), target="/")
    assert r.status == 500 and r.body == b"Internal Server Error\n"


def test_app_exception_is_500_without_traceback(threads):
    r = call(mounted(mounts_wsgi.raising, threads=threads), target="/")
    assert r.status == 500 and b"exploded" not in r.body


def test_bad_status_type(threads):
    r = call(mounted(mounts_wsgi.bad_status, threads=threads), target="/")
    assert r.status == 500


def test_file_wrapper_uses_zerocopysend(tmp_path):
    f = tmp_path / "big.bin"
    data = os.urandom(200_000)
    f.write_bytes(data)
    t = mounted(mounts_wsgi.file_app, threads=4)
    r = call(t, target="/?" + str(f), headers=[("X-Offset", "1000")], extensions=ZC)
    assert [m["type"] for m in r.files] == ["http.response.zerocopysend"]
    assert r.files[0]["offset"] == 1000 and r.files[0]["count"] == 199_000
    assert r.body == data[1000:] and r.headers["content-length"] == "199000"
    # Content-Length caps what is sent
    r = call(t, target="/?" + str(f), headers=[("X-Length", "500")], extensions=ZC)
    assert r.files[0]["count"] == 500 and r.body == data[:500]


def test_file_wrapper_without_extension_iterates(tmp_path):
    f = tmp_path / "big.bin"
    data = os.urandom(100_000)
    f.write_bytes(data)
    r = call(mounted(mounts_wsgi.file_app, threads=4), target="/?" + str(f))
    assert not r.files and r.body == data


def test_head_sends_no_body():
    r = call(mounted(mounts_wsgi.writer, threads=4), "HEAD", "/")
    assert r.body == b"" and r.headers["content-length"] == "13"


def test_threads_zero_runs_on_the_loop():
    seen = []

    def app(environ, start_response):
        seen.append((threading.current_thread() is threading.main_thread(), environ["wsgi.multithread"]))
        start_response("200 OK", [])
        return [b"ok"]
    call(mounted(app, threads=0), target="/")
    call(mounted(app, threads=2), target="/")
    assert seen == [(True, False), (False, True)]


def test_bounded_pool_queues_requests():
    """threads=2: four slow requests run two at a time; queue_depth() shows the waiting ones."""
    running, peak, depths = [0], [0], []
    lock = threading.Lock()

    def slow(environ, start_response):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.5)
        with lock:
            running[0] -= 1
        start_response("200 OK", [])
        return [b"done"]
    t = mounted(slow, threads=2)

    async def go():
        tasks = [asyncio.create_task(acall(t, make_scope("GET", "/"))) for _ in range(4)]
        deadline = time.monotonic() + 3
        while running[0] < 2 and time.monotonic() < deadline:   # both threads busy
            await asyncio.sleep(0.01)
        depths.append(queue_depth())
        depths.append(t.queue_depth())
        return await asyncio.gather(*tasks)
    results = asyncio.run(go())
    assert [r.body for r in results] == [b"done"] * 4
    assert peak[0] == 2 and depths == [2, 2]
    assert queue_depth() == 0


def test_flask_under_a_mount_point():
    t = mounted(flask_app, point="/flaskapp")
    r = call(t, target="/flaskapp/hello?name=skitai")
    assert r.status == 200 and r.body == b"Hello, skitai"
    r = call(t, target="/flaskapp/links", host="example.com:8080")
    assert r.body == b"/flaskapp/hello http://example.com:8080/flaskapp/hello"
    r = call(t, "POST", "/flaskapp/echo", headers=[("Content-Length", "5")], body=b"hello")
    assert r.body == b"hello"
    r = call(t, target="/flaskapp/p/a%2Fb%20c")
    assert r.body == b"a/b c"
    assert call(t, target="/flaskapp/missing").status == 404


def test_adapter_ignores_lifespan():
    async def go():
        await WSGIAdapter(mounts_wsgi.writer)({"type": "lifespan"}, None, None)
    asyncio.run(go())


def test_pool_is_rebuilt_in_a_forked_child():
    """A table used before fork still serves in the child (the parent's threads do not survive fork)."""
    t = mounted(mounts_wsgi.writer, threads=2)
    assert call(t, target="/").body == b"one,two,three"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            r = asyncio.run(asyncio.wait_for(acall(t, make_scope("GET", "/")), 5))
            code = 0 if r.body == b"one,two,three" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_threads_adopted_from_the_server_prefs_in_the_scope():
    """The worker may call startup() without load(prefs): the table takes threads from the scope."""
    seen = []

    def app(environ, start_response):
        seen.append(threading.current_thread() is threading.main_thread())
        start_response("200 OK", [])
        return [b"ok"]

    class Prefs:
        threads = 0
        max_body_size = 0
    t = MountTable()
    t.add("/", app)
    asyncio.run(t.startup())
    ext = {"skitai": {"worker_id": 0, "prefs": Prefs(), "early_hints": None}}
    assert call(t, target="/", extensions=ext).body == b"ok"
    assert seen == [True]


def test_http2_body_without_content_length_reaches_wsgi_input():
    t = mounted(mounts_wsgi.read_input, threads=2)
    scope = make_scope("POST", "/?all", http_version="2")
    r = asyncio.run(acall(t, scope, body=[b"a" * 1000, b"b" * 1000]))
    assert json.loads(r.body)["size"] == 2000


def test_blocks_are_not_held_while_the_app_produces_the_next():
    """PEP 3333: a block must go out while the app works on the next one (SSE-style apps)."""
    def sse(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def gen():
            yield b"data: one\n\n"
            time.sleep(1.0)
            yield b"data: two\n\n"
        return gen()
    t = mounted(sse, threads=2)
    times = []
    # an earlier event loop that ended with a tick pending must not disable ticks in the next one
    asyncio.run(acall(t, make_scope("GET", "/")))

    async def go():
        t0 = time.monotonic()
        done = asyncio.Event()

        async def receive():
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(m):
            if m.get("body"):
                times.append((time.monotonic() - t0, m["body"]))
        await t(make_scope("GET", "/"), receive, send)
        done.set()
    asyncio.run(go())
    assert [b for _, b in times] == [b"data: one\n\n", b"data: two\n\n"]
    assert times[0][0] < 0.7 and times[1][0] >= 1.0


def test_streaming_backpressure_bounds_what_the_app_runs_ahead():
    from skitai.mounts.wsgi import BUFFER, HIGH_WATER
    produced = [0]
    block = 64 * 1024

    def big(environ, start_response):
        start_response("200 OK", [])

        def gen():
            for _ in range(64):
                produced[0] += block
                yield b"x" * block
        return gen()
    t = mounted(big, threads=2)
    ahead = []
    sent = [0]

    async def go():
        async def receive():
            await asyncio.sleep(30)

        async def send(m):
            await asyncio.sleep(0.005)   # a slow client
            sent[0] += len(m.get("body", b""))
            ahead.append(produced[0] - sent[0])
        await t(make_scope("GET", "/"), receive, send)
    asyncio.run(go())
    assert sent[0] == 64 * block
    assert max(ahead) <= HIGH_WATER + BUFFER + 2 * block, max(ahead)


def test_cancelled_request_stops_a_thread_blocked_on_backpressure():
    mounts_wsgi.CLOSED.clear()
    t = mounted(mounts_wsgi.closing_app, threads=2)

    async def go():
        stuck = asyncio.Event()

        async def receive():
            await asyncio.sleep(30)

        async def send(m):
            await stuck.wait()   # a client that never reads
        task = asyncio.create_task(t(make_scope("GET", "/?2000"), receive, send))
        await asyncio.sleep(0.3)
        assert not mounts_wsgi.CLOSED    # the thread waits for room
        task.cancel()
        deadline = time.monotonic() + 3
        while not mounts_wsgi.CLOSED and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    asyncio.run(go())
    assert len(mounts_wsgi.CLOSED) == 1


def test_requests_finished_together_wake_the_loop_once():
    """Results come back through one mailbox per loop: a batch costs one call_soon_threadsafe."""
    n = 8

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]
    adapter = WSGIAdapter(app, threads=4)

    async def go():
        loop = asyncio.get_running_loop()
        wakeups = []
        real = loop.call_soon_threadsafe

        def counting(*args, **kw):
            wakeups.append(args[0])
            return real(*args, **kw)
        loop.call_soon_threadsafe = counting
        bodies = []

        async def receive():
            await asyncio.sleep(30)

        async def send(m):
            if m["type"] == "http.response.body":
                bodies.append(m["body"])
        tasks = [asyncio.create_task(adapter(make_scope("GET", f"/{i}"), receive, send)) for i in range(n)]
        await asyncio.sleep(0)  # each task's first step queues its request for the pool
        # block the loop while the threads finish: all results wait in the mailbox
        deadline = time.monotonic() + 5
        while len(adapter._box.items) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return wakeups, bodies
    wakeups, bodies = asyncio.run(go())
    assert sorted(bodies) == sorted(f"/{i}".encode() for i in range(n))
    assert len(wakeups) == 1, wakeups


def test_mailbox_loses_no_result_under_concurrent_posts():
    """Four threads post bursts of results while the loop drains: every future of every burst
    resolves (a lost wake-up would leave a burst pending until the timeout)."""
    from skitai.mounts.wsgi import _Mailbox
    rounds, per_thread = 300, 3

    async def go():
        loop = asyncio.get_running_loop()
        box = _Mailbox(loop)
        starts = [threading.Event() for _ in range(rounds)]
        futs = [[loop.create_future() for _ in range(4 * per_thread)] for _ in range(rounds)]

        def worker(k):
            for r in range(rounds):
                if not starts[r].wait(5):
                    return
                for i, fut in enumerate(futs[r][k::4]):
                    if i == 1:
                        box.post(fut, False, ValueError(r))
                    else:
                        box.post(fut, True, r)
        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
        for th in threads:
            th.start()
        resolved = failed = 0
        try:
            for r in range(rounds):
                starts[r].set()
                done, pending = await asyncio.wait(futs[r], timeout=2)
                if pending:
                    break
                resolved += len(done)
                failed += sum(1 for f in done if f.exception() is not None)
        finally:
            for ev in starts:
                ev.set()
            for th in threads:
                th.join(5)
        return resolved, failed
    resolved, failed = asyncio.run(go())
    assert resolved == rounds * 4 * per_thread
    assert failed == rounds * 4


def test_server_given_as_a_list_in_the_scope():
    """ASGI allows [path, None] for a unix socket: SERVER_NAME is the path, SERVER_PORT empty."""
    t = mounted(mounts_wsgi.echo_environ, threads=2)
    scope = make_scope("GET", "/", server=["/run/skitai.sock", None], client=None)
    env = json.loads(asyncio.run(acall(t, scope)).body)
    assert (env["SERVER_NAME"], env["SERVER_PORT"], env["REMOTE_ADDR"]) == ("/run/skitai.sock", "", "")


def test_generator_that_gave_its_whole_length_ends_normally():
    """Asked once more after the promised length, a generator finishes by itself
    (closing it half-way would throw GeneratorExit into it)."""
    mounts_wsgi.GEN_EVENTS.clear()
    t = mounted(mounts_wsgi.promised_length, threads=4)
    r = call(t, target="/")
    assert r.status == 200 and r.body == b"abcdef"
    assert mounts_wsgi.GEN_EVENTS == ["ended"]


def test_generator_giving_more_than_promised_is_cut_and_not_asked_again():
    mounts_wsgi.GEN_EVENTS.clear()
    t = mounted(mounts_wsgi.promised_length, threads=4)
    r = call(t, target="/?extra")
    assert r.status == 200 and r.body == b"abcdef"
    assert mounts_wsgi.GEN_EVENTS == ["closed"]  # never asked after the block past the length


def test_heads_are_remembered_except_cookies_and_long_values():
    from skitai.mounts import wsgi
    from skitai.server import h1

    assert (wsgi.HEAD_DATE, wsgi.HEAD_SERVER) == (h1.HEAD_DATE, h1.HEAD_SERVER)  # the flags h1 reads
    plain = [("Content-Type", "text/plain"), ("Content-Length", "2")]
    first = wsgi._head("200 OK", plain)
    assert wsgi._head("200 OK", list(plain)) is first  # remembered by status and items
    assert first[:3] == (200, ((b"content-type", b"text/plain"), (b"content-length", b"2")), 2)
    assert first[3] == b"content-type: text/plain\r\ncontent-length: 2" and first[4] == b"text/plain"
    assert wsgi._head("404 Not Found", plain) is not first
    cookie = [("Set-Cookie", "s=1")]
    assert wsgi._head("200 OK", cookie) is not wsgi._head("200 OK", cookie)
    long = [("X-Long", "x" * 200)]
    assert wsgi._head("200 OK", long) is not wsgi._head("200 OK", long)
    assert wsgi._head("200 OK", [("Date", "d"), ("Server", "s")])[5] == wsgi.HEAD_DATE | wsgi.HEAD_SERVER
    for i in range(wsgi._HEADS_MAX + 10):  # bounded: cleared when full
        wsgi._head("200 OK", [("X-I", str(i))])
    assert len(wsgi._HEADS) <= wsgi._HEADS_MAX
