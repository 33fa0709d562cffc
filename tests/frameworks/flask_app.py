"""A small Flask app started under the agent, for the tests with real servers.

gunicorn and chaussette load ``application``; the other servers run
``python -m tests.frameworks.flask_app SERVER PORT``. The app changes nothing
for the agent but ``sqreen.start()``. It notes what its own layers saw of
the agent (a middleware set on ``app.wsgi_app`` the way Flask documents it,
a ``before_request`` function) and, through the recorder of
``tests.web._server_app``, whether a request was still current once the
server closed each response. ``/block`` reaches ``sensitive``, which that
module hooks with a protection that blocks the value ``"attack"``.
"""
import os

import sqreen

sqreen.start()

import flask  # noqa: E402  (imported after the agent started, as an app may)

from sqreen import _reporter, wsgi  # noqa: E402
from tests.frameworks.flask_app_serve import main  # noqa: E402
from tests.web._server_app import AFTER, recorder, sensitive  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEEN = {"wsgi_app": [], "before_request": []}  # [path, the agent's request was current]
SWALLOWED = []

app = flask.Flask(__name__)


def _app_middleware(wsgi_app):
    def app_middleware(environ, start_response):
        SEEN["wsgi_app"].append([environ["PATH_INFO"], wsgi.current_request() is not None])
        return wsgi_app(environ, start_response)

    return app_middleware


app.wsgi_app = _app_middleware(app.wsgi_app)


@app.before_request
def note_before_request():
    SEEN["before_request"].append([flask.request.path, wsgi.current_request() is not None])


def agent_view():
    """What the agent knows of the current request."""
    request = wsgi.current_request()
    return {"route": request.route, "path_params": request.path_params, "client_ip": request.client_ip,
            "inputs": [list(item) for item in request.inputs()]}


@app.route("/ready")
def ready():
    return flask.jsonify(pid=os.getpid())


@app.route("/items/<int:item_id>/<name>", methods=["GET", "POST"])
def item(item_id, name):
    return flask.jsonify(agent_view())


def _fetch(value):
    return _query(value)


def _query(value):
    return sensitive(value)


@app.route("/block")
def block():
    try:
        value = _fetch(flask.request.args.get("q", ""))
    except Exception as exc:  # the view's own handler: must not see a block
        SWALLOWED.append(repr(exc))
        value = "swallowed"
    return "not blocked: %s" % value


@app.route("/error")
def error():
    raise ValueError("the view failed")


@app.route("/stream")
def stream():
    def chunks():
        for n in range(3):
            request = wsgi.current_request()
            yield "%d %s %s\n" % (n, flask.request.path, request.route if request is not None else None)

    return flask.Response(flask.stream_with_context(chunks()), mimetype="text/plain")


@app.route("/file")
def send_file():
    return flask.send_file(os.path.join(HERE, "flask_app_serve.py"), mimetype="text/plain")


@app.route("/state")
def state():
    _reporter.flush(10)
    return flask.jsonify(after=AFTER, swallowed=SWALLOWED, seen=SEEN)


application = recorder(app)

if __name__ == "__main__":
    main(application)
