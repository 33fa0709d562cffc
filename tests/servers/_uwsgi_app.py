"""The app uWSGI serves in ``test_uwsgi_workers``: plain WSGI or Flask, the agent started one of three ways.

Environment: ``SERVERS_APP`` is ``plain`` (wrapped by hand with
``sqreen.wsgi.middleware``) or ``flask`` (no wrapping: the Flask integration
must find it); ``SERVERS_START`` says who starts the agent: ``bootstrap``
(``sqreen-start`` did already), ``import`` (this module, in whatever process
imports it: the master when apps are not lazy) or ``postfork`` (each worker,
from a ``uwsgidecorators.postfork`` function); ``import`` also reports a
``track`` event before the workers exist, so that they are forked from a
master whose reporter thread runs. Every response carries the
serving worker's pid in ``X-Worker-Pid``, added outside the agent so that its
403 pages carry it too; ``/pid`` answers with that pid.
"""
import os

import sqreen

START = os.environ.get("SERVERS_START", "bootstrap")
KIND = os.environ.get("SERVERS_APP", "plain")

if START == "import":
    sqreen.start()
    # An event before the fork: the master's reporter thread runs and its file is open when uWSGI forks.
    from sqreen import _events, _reporter

    _reporter.report(_events.track_event("before-fork"))
    _reporter.flush(10)
elif START == "postfork":
    import uwsgidecorators

    @uwsgidecorators.postfork
    def start_agent():
        sqreen.start()


def _pid_body():
    return str(os.getpid()).encode("ascii")


def _plain():
    from sqreen import wsgi

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [_pid_body()]

    return wsgi.middleware(app)


def _flask():
    import flask

    app = flask.Flask(__name__)

    @app.route("/pid")
    def pid():
        return _pid_body()

    return app


def _with_pid(app):
    """``app`` whose every response names the worker that served it."""
    def serve(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, list(headers) + [("X-Worker-Pid", str(os.getpid()))], exc_info)

        return app(environ, start)

    return serve


application = _with_pid({"plain": _plain, "flask": _flask}[KIND]())
