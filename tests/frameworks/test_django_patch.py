"""How the Django integration patches: lazily, once, late, and never at the application's expense.

Each scenario runs in a fresh interpreter (import state matters) with the
test project's settings, calling Django's WSGI application in-process the
way a server does (``tests.web.conftest.serve``).
"""
import json
import os

import pytest

from tests.helpers import run_python

pytest.importorskip("django")

PRELUDE = """
import json, sys
from tests.web.conftest import make_environ, serve

def call(app, path, **headers):
    served = serve(app, make_environ(path.partition("?")[0], query=path.partition("?")[2], headers=headers))
    return int(served.status.split()[0]), served.body.decode("utf-8")

def report(**data):
    print("RESULT " + json.dumps(data, sort_keys=True))
"""


def run(code, tmpdir, **env):
    full_env = {"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block",
                "SQREEN_EVENTS_FILE": os.path.join(str(tmpdir), "events.jsonl"),
                "DJANGO_SETTINGS_MODULE": "tests.frameworks.django_app.settings",
                "DJANGO_APP_DB": os.path.join(str(tmpdir), "db.sqlite3")}
    full_env.update(env)
    _, out, err = run_python(PRELUDE + code, env=full_env)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, (out, err)
    return json.loads(lines[0][len("RESULT "):]), err


def test_the_agent_imports_nothing_of_django(tmpdir):
    data, _ = run("""
import sqreen
assert sqreen.start()
before = sorted(m for m in sys.modules if m.split(".")[0] == "django")
import django
after_django = "django.core.handlers.wsgi" in sys.modules
from django.core.handlers.wsgi import WSGIHandler
report(before=before, after_django=after_django,
       patched=getattr(WSGIHandler.__call__, "__sqreen_django__", False))
""", tmpdir)
    assert data == {"before": [], "after_django": False, "patched": True}


def test_patching_again_and_reloading_change_nothing(tmpdir):
    data, _ = run("""
import sqreen
sqreen.start()
import django
import django.core.handlers.wsgi as handlers
from six.moves import reload_module
from sqreen.integrations import django as integration, _django_layer

integration.patch(django)  # a second patch of the same module
again = integration.patch_handler(handlers.WSGIHandler)
reload_module(handlers)  # a new WSGIHandler class: patched afresh, once
reloaded = handlers.WSGIHandler.__call__
wrapped_once = not getattr(reloaded.__wrapped__, "__sqreen_django__", False)
django.setup()
app = handlers.WSGIHandler()  # get_wsgi_application() would build the class it imported before
statuses = [call(app, "/items/3/x/")[0] for _ in range(3)]
chain = app._middleware_chain
report(again=again, wrapped_once=wrapped_once, patched=getattr(reloaded, "__sqreen_django__", False),
       statuses=statuses, layers=[isinstance(chain, _django_layer.Layer),
                                  isinstance(chain.get_response, _django_layer.Layer)],
       views=app._view_middleware.count(_django_layer.process_view),
       route=json.loads(call(app, "/items/3/x/")[1])["route"] is not None)
""", tmpdir)
    assert data == {"again": False, "wrapped_once": True, "patched": True, "statuses": [200, 200, 200],
                    "layers": [True, False], "views": 1, "route": True}


def test_an_agent_started_after_django_still_comes_first(tmpdir):
    data, _ = run("""
from django.core.wsgi import get_wsgi_application
app = get_wsgi_application()  # middleware loaded before the agent exists
import sqreen
sqreen.start()
ctx = json.loads(call(app, "/files/7/")[1])
blocked = call(app, "/block?q=attack")
report(params=ctx["path_params"], route=ctx["route"] is not None, blocked=blocked[0],
       page="403 Forbidden" in blocked[1])
""", tmpdir)
    assert data == {"params": {"0": "7"}, "route": True, "blocked": 403, "page": True}


def broken_start(module, attr):
    """A child's code: start the agent with ``sqreen.integrations.<module>.<attr>`` raising, build the app."""
    return """
import sqreen
sqreen.start()
from sqreen.integrations import %s as target

def broken(*args):
    raise RuntimeError("broken on purpose")

target.%s = broken
from django.core.wsgi import get_wsgi_application
app = get_wsgi_application()
""" % (module, attr)


def test_a_failure_to_join_the_chain_leaves_the_generic_middleware_in_charge(tmpdir):
    data, err = run(broken_start("_django_layer", "install") + """
ctx = [call(app, "/files/7/") for _ in range(2)]
blocked = call(app, "/block?q=attack")
report(statuses=[s for s, _ in ctx], route=json.loads(ctx[0][1])["route"], blocked=blocked[0],
       page="403 Forbidden" in blocked[1])
""", tmpdir)
    # No route any more, but the request context, and a block still becomes the 403 page.
    assert data == {"statuses": [200, 200], "route": None, "blocked": 403, "page": True}
    assert err.count("cannot join Django's middleware chain") == 1 and "broken on purpose" in err


def test_a_failure_to_build_djangos_403_leaves_it_to_the_generic_middleware(tmpdir):
    data, err = run(broken_start("_django_layer", "blocked_response") + """
status, body = call(app, "/block?q=attack")
report(status=status, page="403 Forbidden" in body, view="not blocked" in body)
""", tmpdir)
    assert data == {"status": 403, "page": True, "view": False}
    assert err.count("cannot build Django's 403 response") == 1 and "broken on purpose" in err


def test_a_failure_to_patch_leaves_the_app_running_unprotected(tmpdir):
    data, err = run(broken_start("django", "patch_handler") + """
report(status=call(app, "/ready")[0], patched=hasattr(type(app).__call__, "__sqreen_django__"))
""", tmpdir)
    assert data == {"status": 200, "patched": False}
    assert err.count("cannot instrument Django's WSGI handler") == 1 and "broken on purpose" in err


def test_an_app_wrapped_by_hand_as_well_is_served_once(tmpdir):
    data, _ = run("""
import sqreen, sqreen.wsgi
sqreen.start()
from django.core.wsgi import get_wsgi_application
from sqreen import _reporter
events = []
_reporter.report = events.append
app = sqreen.wsgi.middleware(get_wsgi_application())  # the generic middleware's own docs say so
ctx = json.loads(call(app, "/items/5/y/")[1])
status = call(app, "/block?q=attack")[0]
report(route=ctx["route"] is not None, same=ctx["same_environ"], status=status, events=len(events))
""", tmpdir)
    assert data == {"route": True, "same": True, "status": 403, "events": 1}
