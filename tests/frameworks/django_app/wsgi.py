"""The test project's WSGI module, as ``startproject`` writes it, plus ``sqreen.start()``.

Under ``sqreen-start`` the agent is already running when it is imported.
A recorder from ``tests.web`` sits outside Django's application to note
whether a request was still current once the server closed each response.
``python -m tests.frameworks.django_app.wsgi PORT`` serves it with wsgiref.
"""
import os
import sys

import sqreen
from sqreen import _runtime
from tests.frameworks.django_app import middleware

# Under sqreen-start the agent runs before the application's first line.
middleware.STARTUP["agent_before_app"] = _runtime.status() == _runtime.RUNNING
sqreen.start()

from django.core.wsgi import get_wsgi_application  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.frameworks.django_app.settings")
django_application = get_wsgi_application()


def _create_tables():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS note (text TEXT)")
    connection.close()


_create_tables()

from tests.web._server_app import recorder  # noqa: E402

application = recorder(django_application)


def serve(port):
    """wsgiref's simple server, one thread per request, quiet."""
    from wsgiref import simple_server
    from six.moves.socketserver import ThreadingMixIn

    class Server(ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True

    class Quiet(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    simple_server.make_server("127.0.0.1", port, application, Server, Quiet).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
