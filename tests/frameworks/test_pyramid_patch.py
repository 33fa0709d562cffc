"""The Pyramid patch itself, each scenario in a fresh interpreter: lazy, idempotent, harmless when it fails.

The router is called as a WSGI app through ``webob.Request.get_response``
(WebOb comes with Pyramid); the real server is in ``test_pyramid_servers``.
"""
import json
import os

import pytest

from tests.helpers import run_python

pytest.importorskip("pyramid")

APP = """
import json, sys
import sqreen
sqreen.start()
started_without = [m for m in ("pyramid", "webob", "zope.interface") if m not in sys.modules]
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from webob import Request as WebobRequest
from sqreen import wsgi

SEEN = []

def item(request):
    current = wsgi.current_request()
    sub = request.invoke_subrequest(Request.blank("/other/9"), use_tweens=True)
    if current is None:  # the agent is not there
        return {"sub": sub.text}
    return {"route": current.route, "params": current.path_params, "sub": sub.text}

def other(request):
    return Response(request.matched_route.pattern)

def exc_view(exc, request):
    SEEN.append(repr(exc))
    return Response("app error page", status=500)

def make_app():
    config = Configurator()
    config.add_route("item", "/items/{item_id}")
    config.add_view(item, route_name="item", renderer="json")
    config.add_route("other", "/other/{n}")
    config.add_view(other, route_name="other")
    config.add_view(exc_view, context=Exception)
    return config.make_wsgi_app()

def get(app, path):
    response = WebobRequest.blank(path).get_response(app)
    return [response.status_int, response.text]
"""


def run(code, tmpdir, prelude="", **env):
    full_env = {"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block",
                "SQREEN_EVENTS_FILE": os.path.join(str(tmpdir), "events.jsonl")}
    full_env.update(env)
    _, out, err = run_python(prelude + APP + code, env=full_env)
    return json.loads(out.strip().splitlines()[-1]), err


def test_the_agent_imports_nothing_of_pyramid_and_patches_the_router_when_the_app_does(tmpdir):
    result, _ = run("""
from pyramid.router import Router
print(json.dumps([started_without, getattr(Router.__call__, "__sqreen_entry__", False),
                  get(make_app(), "/items/7"), wsgi.current_request() is None]))
""", tmpdir)
    assert result[0] == ["pyramid", "webob", "zope.interface"] and result[1] is True
    status, body = result[2]
    # the sub-request's route is its own business: the request keeps the route it was served for
    assert status == 200 and json.loads(body) == {"route": "/items/{item_id}", "params": {"item_id": "7"},
                                                  "sub": "/other/{n}"}
    assert result[3] is True


def test_patching_again_and_reloading_are_harmless(tmpdir):
    result, _ = run("""
from six.moves import reload_module
import pyramid.router
from sqreen.integrations import pyramid as integration
call = vars(pyramid.router.Router)["__call__"]
integration.patch(pyramid.router)
same = vars(pyramid.router.Router)["__call__"] is call
same = same and not getattr(call.__wrapped__, "__sqreen_entry__", False)
old = pyramid.router.Router
reload_module(pyramid.router)
import pyramid.config
pyramid.config.Router = pyramid.router.Router  # what the app sees after reloading both
fresh = make_app()
print(json.dumps([same, type(fresh) is not old, getattr(type(fresh).__call__, "__sqreen_entry__", False),
                  json.loads(get(fresh, "/items/3")[1])["route"]]))
""", tmpdir)
    assert result == [True, True, True, "/items/{item_id}"]


def test_a_failing_patch_leaves_the_app_working_unprotected(tmpdir):
    prelude = """
import sqreen
from sqreen.integrations import pyramid as integration
def broken(cls, *args, **kwargs):
    raise RuntimeError("broken on purpose")
integration.wrap_entry = broken
"""
    result, err = run("""
from pyramid.router import Router
print(json.dumps([getattr(Router.__call__, "__sqreen_entry__", False), get(make_app(), "/items/2")[0]]))
""", tmpdir, prelude=prelude)
    assert result == [False, 200]
    assert err.count("sqreen.integrations.pyramid:patch failed") == 1


def test_without_the_agent_running_the_router_is_untouched(tmpdir):
    result, _ = run("""
from pyramid.router import Router
print(json.dumps([getattr(Router.__call__, "__sqreen_entry__", False), get(make_app(), "/items/2")[0]]))
""", tmpdir, SQREEN_DISABLE="1")
    assert result == [False, 200]
