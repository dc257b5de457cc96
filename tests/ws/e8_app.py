"""Atila E8 websocket examples (echo channel, session generator, group chat, push)."""

import asyncio
import threading

import skitai
from atila import Atila

app = Atila(__name__)
OPENED: dict = {}   # user -> client_id (stands in for the session store of the seeds)
EVENTS: list = []


def onopen(context):
    EVENTS.append(("open", context.websocket.client_id, context.request.ARGS.get("option")))
    user = context.request.ARGS.get("user")
    if user:
        OPENED[user] = context.websocket.client_id


def onclose(context):
    EVENTS.append(("close", context.websocket.client_id))


@app.route("/websocket")
@app.websocket(skitai.WS_CHANNEL, 1200, onopen, onclose)          # WS_THREAD default
def websocket(context, message):
    assert threading.current_thread() is not threading.main_thread()
    return 'you said: ' + message


@app.route("/websocket2")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_THREADSAFE, 1200, onopen)
def websocket2(context, message, option):
    def later():
        context.websocket.send("from my own thread")
    t = threading.Thread(target=later)
    t.start()
    t.join()
    return 'you said: ' + message + ' option=' + str(option)


@app.route("/echo")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_SESSION, 60)
def echo(context):
    while 1:
        message = yield
        if not message:
            return
        yield "ECHO:" + message


@app.route("/chat")
@app.websocket(skitai.WS_GROUPCHAT, 60)
def chat(context, message, room_id):
    return "Client %s Said: %s" % (context.websocket.client_id, message)  # noqa: UP031 - as in the seeds


@app.route("/nothread")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, 60)
def nothread(context, message):
    assert threading.current_thread() is threading.main_thread()
    return message.encode() if message.startswith("b:") else message.upper()


@app.route("/order")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, 60)
def order(context, message):
    context.websocket.send("first " + message)
    context.websocket.send("second " + message)
    return "third " + message


@app.route("/coro")
@app.websocket(skitai.WS_COROUTINE, 60)
async def coro(context, message):
    await asyncio.sleep(0.01)
    return "async " + message


@app.route("/coro_gen")
@app.websocket(skitai.WS_COROUTINE, 60)
def coro_gen(context):
    while True:
        msg = yield context.Input()
        if not msg:
            return
        yield "got " + msg
        yield "twice " + msg


@app.route("/json")
@app.websocket(skitai.WS_CHANNEL, 60, encoding=skitai.WS_MSG_JSON)
def jsonws(context, message):
    return {"got": message, "sum": sum(message.get("n", []))}


@app.route("/short")
@app.websocket(skitai.WS_CHANNEL, 1)
def short(context, message):
    return message


@app.route("/item_in_stock")
def item_in_stock(context, user):
    ok = app.websocket_send(OPENED.get(user, -1), "Item In Stock!")
    return "ok" if ok else "gone"


@app.route("/events")
def events(context):
    return {"events": EVENTS}
