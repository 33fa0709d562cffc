"""A small aiohttp app under the agent, for the tests with a real server.

Run as ``python -m tests.frameworks.aiohttp_app PORT LOOP ORDER``: LOOP is
``asyncio`` or ``uvloop``; ORDER ``start-first`` (``sqreen.start()`` before
aiohttp is imported, as an app normally does) or ``app-first`` (the
Application is built, with its own middleware, before ``sqreen.start()``).
It hooks :func:`sensitive` with ``tests.web``'s protection, which blocks
the value ``"attack"``, and wraps the app's request entry point so that it records,
once each request is over, whether a request was still current.
"""
import asyncio
import os
import sys

import sqreen
from sqreen import _reporter, wsgi
from sqreen.instrumentation import hook

ORDER = sys.argv[3] if len(sys.argv) > 3 else "start-first"
AFTER = []  # [path, a request still current once aiohttp's handling of it is over]
SWALLOWED = []  # what the views' own `except Exception` caught
PAIRS = {}  # group: requests arrived
SEEN_FIRST = []  # [path, the agent's request was current when the app's own middleware ran]

if ORDER == "start-first":
    sqreen.start()

from aiohttp import web  # noqa: E402


def sensitive(value):
    """Stands for a sensitive call (SQL, shell...): the protection blocks ``"attack"``."""
    return value


def describe():
    request = wsgi.current_request()
    if request is None:
        return None
    return {"route": request.route, "path_params": request.path_params, "path": request.path,
            "method": request.method, "client_ip": request.client_ip, "query": request.query,
            "form": request.form, "json": request.json, "cookies": request.cookies,
            "inputs": [list(item) for item in request.inputs()]}


@web.middleware
async def app_middleware(request, handler):
    SEEN_FIRST.append([request.path, wsgi.current_request() is not None])
    return await handler(request)


async def ctx(request):
    data = {"agent": describe()}
    if request.query.get("read") == "post":
        data["app_form"] = dict((await request.post()).items())
    elif request.query.get("read") == "json":
        data["app_json"] = await request.json()
    elif request.query.get("read") == "stream":
        data["app_stream"] = (await request.content.read()).decode("utf-8")
    return web.json_response(data)


async def tasks(request):
    async def child():
        await asyncio.sleep(0)
        current = wsgi.current_request()
        return current.path if current is not None else None

    spawned = await asyncio.ensure_future(child())
    created = await asyncio.get_event_loop().create_task(child())
    return web.json_response({"ensure_future": spawned, "create_task": created})


async def block(request):
    await asyncio.sleep(0)
    try:
        sensitive(request.query.get("q", ""))
    except Exception as exc:  # the app's own catch-all must not see the block
        SWALLOWED.append(repr(exc))
        return web.Response(text="swallowed")
    return web.Response(text="not blocked")


async def pair(request):
    """Waits (bounded) until ``wanted`` requests of its group are in flight, then says which it sees."""
    group = request.match_info["group"]
    PAIRS[group] = PAIRS.get(group, 0) + 1
    for _ in range(500):
        if PAIRS[group] >= int(request.query["wanted"]):
            break
        await asyncio.sleep(0.01)
    current = wsgi.current_request()
    return web.json_response({"seen": current.path_params["id"] if current is not None else None,
                              "together": PAIRS[group] >= int(request.query["wanted"])})


async def stream(request):
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    for i in range(3):
        await asyncio.sleep(0)
        await response.write(("chunk %d %s\n" % (i, wsgi.current_request() is not None)).encode())
    if request.query.get("q"):
        sensitive(request.query["q"])
    await response.write_eof()
    return response


async def error(request):
    raise ValueError("the view failed")


async def state(request):
    _reporter.flush(10)
    return web.json_response({"after": AFTER, "swallowed": SWALLOWED, "seen_first": SEEN_FIRST})


async def ready(request):
    return web.json_response({"pid": os.getpid()})


def make_app():
    app = web.Application(middlewares=[app_middleware])
    app.router.add_get("/ready", ready)
    app.router.add_route("*", r"/ctx/{name}/{num:\d+}", ctx)
    app.router.add_get("/tasks", tasks)
    app.router.add_get("/block", block)
    app.router.add_get("/stream", stream)
    app.router.add_get("/pair/{group}/{id}", pair)
    app.router.add_get("/error", error)
    app.router.add_get("/state", state)
    sub = web.Application()
    sub.router.add_get("/item/{id}", ctx)
    app.add_subapp("/sub", sub)
    return app


def record_after(app):
    """Wrap the app's request entry point: note whether a request is still current once it is over."""
    handle = app._handle

    async def recording(request):
        try:
            return await handle(request)
        finally:
            AFTER.append([request.path, wsgi.current_request() is not None])

    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        app._handle = recording


def main(port, loop_kind):
    app = make_app()
    if ORDER == "app-first":
        sqreen.start()
    record_after(app)
    from tests.web._server_app import _protection  # blocks "attack" (importing it starts the agent too)

    hook((sys.modules[__name__], "sensitive"), pre=_protection)
    if loop_kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def serve():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    loop.run_until_complete(serve())


if __name__ == "__main__":
    sys.modules.setdefault("tests.frameworks.aiohttp_app", sys.modules[__name__])
    main(int(sys.argv[1]), sys.argv[2])
