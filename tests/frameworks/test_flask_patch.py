"""The Flask patch itself, each scenario in a fresh interpreter: lazy, idempotent, harmless when it fails.

Flask's own test client drives the app (it calls ``Flask.__call__`` as a
server would); the real servers are in ``test_flask_servers``.
"""
import json
import os

import pytest

from tests.helpers import run_python

pytest.importorskip("flask")

APP = """
import json, sys
import sqreen
sqreen.start()
started_without = [m for m in ("flask", "werkzeug", "jinja2") if m not in sys.modules]
import flask
from sqreen import _blocking, _events, wsgi
from sqreen.instrumentation import hook

app = flask.Flask("t")
HANDLED = []

@app.errorhandler(Exception)
def on_error(exc):
    HANDLED.append(repr(exc))
    return "handled", 500

def sensitive(value):
    return value

def block(instance, args, kwargs):
    request = wsgi.current_request()
    _blocking.raise_blocked(_events.attack_event("sqli", request=request.event_dict(), rule="t",
                                                 blocked=True, source="query", name="q", value=args[0]))

hook((sys.modules[__name__], "sensitive"), pre=block)

@app.route("/items/<int:item_id>")
def item(item_id):
    request = wsgi.current_request()
    return flask.jsonify(route=request.route, params=request.path_params)

@app.route("/block")
def blocked():
    try:
        sensitive("x")
    except Exception as exc:
        HANDLED.append(repr(exc))
    return "not blocked"

def get(path):
    response = app.test_client().get(path)
    return [response.status_code, response.get_data(as_text=True)]
"""


def run(code, tmpdir, **env):
    full_env = {"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block",
                "SQREEN_EVENTS_FILE": os.path.join(str(tmpdir), "events.jsonl")}
    full_env.update(env)
    out = run_python(APP + code, env=full_env)[1]
    return json.loads(out.strip().splitlines()[-1])


def test_the_agent_imports_nothing_of_flask_and_patches_it_when_the_app_does(tmpdir):
    result = run("""
print(json.dumps([started_without, getattr(flask.Flask.__call__, "__sqreen_entry__", False),
                  get("/items/7"), wsgi.current_request() is None]))
""", tmpdir)
    assert result[0] == ["flask", "werkzeug", "jinja2"] and result[1] is True
    status, body = result[2]
    assert status == 200 and json.loads(body) == {"route": "/items/<int:item_id>", "params": {"item_id": 7}}
    assert result[3] is True


def test_the_route_is_read_when_needed_and_inputs_asked_for_before_the_match_are_not_kept(tmpdir):
    result = run("""
from flask.sessions import SecureCookieSessionInterface
EARLY = []

class Interface(SecureCookieSessionInterface):
    def open_session(self, app, request):  # runs after the context is pushed, before the URL is matched
        current = wsgi.current_request()
        EARLY.append([list(item) for item in current.inputs() if item[0] == "path"])
        return SecureCookieSessionInterface.open_session(self, app, request)

app.session_interface = Interface()

@app.route("/users/<name>/inputs")
def inputs(name):
    return flask.jsonify([list(item) for item in wsgi.current_request().inputs() if item[0] == "path"])

seen = []
routes = []
app.before_request(lambda: seen.append(wsgi.current_request().route_reader is not None) and None)
app.after_request(lambda response: routes.append(wsgi.current_request().route) or response)
print(json.dumps([get("/users/bob/inputs"), get("/nowhere")[0], EARLY, seen, routes]))
""", tmpdir)
    (status, body), missing, early, pending, routes = result
    assert status == 200 and json.loads(body) == [["path", "name", "bob"]]
    assert early == [[], []] and pending == [True, True]  # nothing asked for the route before the views
    assert missing == 500 and routes == ["/users/<name>/inputs", None]  # on_error answers the 404


def test_a_block_in_a_view_is_a_403_that_flask_error_handlers_never_see(tmpdir):
    result = run("""
app.testing = True  # exceptions propagate: still a 403
print(json.dumps([get("/block"), HANDLED, wsgi.current_request() is None]))
""", tmpdir)
    (status, body), handled, cleared = result
    assert status == 403 and "Reference" in body and handled == [] and cleared
    with open(os.path.join(str(tmpdir), "events.jsonl")) as f:
        events = [json.loads(line) for line in f if line.strip()]
    attacks = [event for event in events if event["kind"] == "attack"]
    assert len(attacks) == 1 and attacks[0]["event_id"] in body


def test_patching_again_and_reloading_are_harmless(tmpdir):
    result = run("""
from six.moves import reload_module
from sqreen.integrations import flask as integration
call = vars(flask.Flask)["__call__"]
integration.patch(flask)
reload_module(flask)
same = vars(flask.Flask)["__call__"] is call and not getattr(call.__wrapped__, "__sqreen_entry__", False)
reload_module(sys.modules["flask.app"])
reload_module(flask)  # a new Flask class: patched in turn
fresh = flask.Flask("t2")
fresh.route("/p/<name>")(lambda name: flask.jsonify(route=wsgi.current_request().route))
response = fresh.test_client().get("/p/x")
entry = getattr(flask.Flask.__call__, "__sqreen_entry__", False)
print(json.dumps([same, flask.Flask is not type(app), entry,
                  json.loads(response.get_data(as_text=True)), get("/items/1")[0]]))
""", tmpdir)
    assert result == [True, True, True, {"route": "/p/<name>"}, 200]


def test_a_failing_patch_leaves_the_app_working_unprotected(tmpdir):
    code = """
import sqreen, sys
from sqreen.integrations import flask as integration
def broken(cls, *args, **kwargs):
    raise RuntimeError("broken on purpose")
integration.wrap_entry = broken
""" + APP + """
print(json.dumps([getattr(flask.Flask.__call__, "__sqreen_entry__", False), get("/block")]))
"""
    env = {"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block",
           "SQREEN_EVENTS_FILE": os.path.join(str(tmpdir), "events.jsonl")}
    _, out, err = run_python(code, env=env)
    wrapped, (status, body) = json.loads(out.strip().splitlines()[-1])
    assert wrapped is False and err.count("sqreen.integrations.flask:patch failed") == 1
    # unprotected: no request is current, so the test protection (which reads it) lets the call through
    assert (status, body) == (200, "not blocked")


def test_without_the_agent_running_the_app_is_untouched(tmpdir):
    result = run("""
print(json.dumps([getattr(flask.Flask.__call__, "__sqreen_entry__", False), get("/block"), HANDLED]))
""", tmpdir, SQREEN_DISABLE="1")
    assert result[0] is False and result[1] == [200, "not blocked"]
