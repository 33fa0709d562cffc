"""How the aiohttp integration patches ``aiohttp.web``, each scenario in a fresh interpreter."""
import sys

import pytest

from tests.helpers import run_python

if sys.version_info < (3,):
    pytest.skip("not applicable: aiohttp is Python 3 only", allow_module_level=True)
pytest.importorskip("aiohttp")

ENV = {"SQREEN_FORCE_START": "1", "SQREEN_EVENTS_FILE": "", "SQREEN_LOG_LEVEL": "warning"}

# Serves one request to ``app`` in-process (aiohttp's test client, loopback only) and prints the result.
SERVE = """
import asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

async def view(request):
    from sqreen import wsgi
    current = wsgi.current_request()
    return web.json_response(None if current is None else [current.route, current.path_params])

async def fetch(app, path="/x/1"):
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get(path)
        return response.status, await response.json()
    finally:
        await client.close()

def serve(app, path="/x/1"):
    app.router.add_get("/x/{n}", view)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    print(loop.run_until_complete(fetch(app, path)))
"""


def run(code):
    return run_python(code, env=ENV)[1].strip().splitlines()


def test_aiohttp_is_not_imported_by_the_agent_and_is_patched_on_import():
    out = run("""
        import sys, sqreen
        assert sqreen.start()
        print("aiohttp" in sys.modules, "aiohttp.web" in sys.modules)
        from aiohttp import web
        app = web.Application()
        print(app.middlewares[0].__name__)
    """)
    assert out == ["False False", "sqreen_middleware"]


def test_an_app_built_before_start_gets_the_middleware_first_when_it_freezes():
    out = run(SERVE + """
import sqreen

@web.middleware
async def mine(request, handler):
    return await handler(request)

app = web.Application(middlewares=[mine])
assert sqreen.start()
app.middlewares.insert(0, mine)
serve(app)
print([m.__name__ for m in app.middlewares])
""")
    assert out == ["(200, ['/x/{n}', {'n': '1'}])", "['sqreen_middleware', 'mine', 'mine']"]


def test_patching_twice_is_harmless():
    out = run(SERVE + """
import importlib, sqreen
from sqreen.integrations import aiohttp as integration
assert sqreen.start()
import aiohttp.web
importlib.reload(aiohttp.web)
integration.patch(aiohttp.web)
app = aiohttp.web.Application()
app.pre_freeze()
print(list(app.middlewares).count(integration.sqreen_middleware), len(app.on_response_prepare))
""")
    assert out == ["1 1"]


def test_an_app_frozen_before_start_gets_the_middleware_when_it_starts_serving():
    _, out, err = run_python(SERVE + """
import sqreen

@web.middleware
async def mine(request, handler):
    from sqreen import wsgi
    print("mine sees", wsgi.current_request().route)
    return await handler(request)

app = web.Application(middlewares=[mine])
app.router.add_get("/x/{n}", view)
app.freeze()
assert sqreen.start()
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
print(loop.run_until_complete(fetch(app)))
""", env=ENV)
    assert out.strip().splitlines() == ["mine sees /x/{n}", "(200, ['/x/{n}', {'n': '1'}])"]
    assert "sqreen" not in err


def test_a_failure_in_the_integration_leaves_the_app_serving_unprotected():
    _, out, err = run_python(SERVE + """
import sqreen
assert sqreen.start()
from sqreen.integrations import aiohttp as integration

async def broken(request):
    raise RuntimeError("boom")

integration._environ = broken
app = web.Application()
serve(app)
serve(web.Application())
""", env=ENV)
    assert out.strip().splitlines() == ["(200, None)", "(200, None)"]
    assert err.count("cannot set up an aiohttp request") == 1


def test_a_stopped_agent_is_not_in_the_way():
    out = run(SERVE + """
import sqreen
assert sqreen.start()
app = web.Application()
sqreen.stop()
serve(app)
""")
    assert out == ["(200, None)"]
