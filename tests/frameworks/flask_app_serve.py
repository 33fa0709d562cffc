"""Serve a test app with a server chosen by name: ``serve(application, "wsgiref" | "waitress", port)``.

The framework apps of these tests run as ``python -m tests.frameworks.<app> SERVER PORT``
(gunicorn and chaussette load them by their own command lines). Nothing
here imports a framework.
"""
import sys


def _wsgiref(application, port):
    from wsgiref import simple_server
    from six.moves.socketserver import ThreadingMixIn

    class QuietHandler(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class ThreadingWSGIServer(ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True

    httpd = simple_server.make_server("127.0.0.1", port, application, ThreadingWSGIServer, QuietHandler)
    httpd.serve_forever()


def _waitress(application, port):
    import waitress

    waitress.serve(application, host="127.0.0.1", port=port, threads=8, _quiet=True)


def serve(application, kind, port):
    {"wsgiref": _wsgiref, "waitress": _waitress}[kind](application, port)


def main(application):
    """Serve ``application`` as the command line says (``SERVER PORT``)."""
    serve(application, sys.argv[1], int(sys.argv[2]))
