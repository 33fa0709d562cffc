"""Serve a test app with a server chosen by name: ``serve(application, "wsgiref" | "waitress", port)``.

The framework apps of these tests run as ``python -m tests.frameworks.<app> SERVER PORT``
(gunicorn and chaussette load them by their own command lines). Nothing
here imports a framework.
"""
import sys


def _wsgiref(application, port):
    from sqreen._demo_app import serve  # the demo's quiet, threaded wsgiref server

    serve(application, port)


def _waitress(application, port):
    import waitress

    waitress.serve(application, host="127.0.0.1", port=port, threads=8, _quiet=True)


def serve(application, kind, port):
    {"wsgiref": _wsgiref, "waitress": _waitress}[kind](application, port)


def main(application):
    """Serve ``application`` as the command line says (``SERVER PORT``)."""
    serve(application, sys.argv[1], int(sys.argv[2]))
