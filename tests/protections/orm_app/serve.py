"""``python -m tests.protections.orm_app.serve PORT``: the ORM app under the agent on 127.0.0.1:PORT.

The agent starts first (``SQREEN_*`` variables set its mode and events
file); Django's application serves ``/dj/``, the SQLAlchemy app under the
agent's WSGI middleware serves ``/sa/``. ``/ready`` answers once both
tables exist, ``/flush`` writes the pending events out, ``/drop`` drops
the tables.
"""
import os
import sys

import sqreen

sqreen.start()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.protections.orm_app.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

from sqreen import _reporter, wsgi  # noqa: E402

django_application = get_wsgi_application()

from tests.protections.orm_app import sa_app, views  # noqa: E402

sa_application = wsgi.middleware(sa_app.app)


def _plain(start_response, body):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ready":
        return _plain(start_response, b"ready")
    if path == "/flush":
        _reporter.flush(10)
        return _plain(start_response, b"flushed")
    if path == "/drop":
        views.drop_table()
        sa_app.drop_table()
        return _plain(start_response, b"dropped")
    if path.startswith("/sa/"):
        return sa_application(environ, start_response)
    return django_application(environ, start_response)


def main(port):
    from django.db import connection

    from sqreen._demo_app import serve  # the demo's quiet, threaded wsgiref server

    views.create_table()
    connection.close()
    sa_app.create_table()
    serve(application, port)


if __name__ == "__main__":
    main(int(sys.argv[1]))
