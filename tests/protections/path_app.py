"""A file-serving app with path traversal holes, for ``test_path_servers``: never deploy it.

``python -m tests.protections.path_app ROOT`` starts the agent, serves on a
free 127.0.0.1 port (wsgiref) and prints ``LISTENING <port>``. Files are
served from ``ROOT/public``; ``ROOT`` holds what must stay private. Flask
views read a file by pasting the name onto the directory (``/read``,
``/image``, the ``theme`` cookie, the ``X-Lang`` header), by
``os.path.join`` (``/join``), through ``send_from_directory`` (``/send``)
and ``send_file`` (``/sendfile``), and remove one (``POST /delete``); a plain
WSGI view (``/wsgi/download``) hands an open file to ``wsgi.file_wrapper``
and a Django view (``/django/download``) to a ``FileResponse``.
"""
from __future__ import print_function

import os
import signal
import sys

NOT_FOUND = ("Not found", 404)


def make_flask_app(base):
    import flask

    app = flask.Flask("path_app")

    def read(path):
        try:
            with open(path, "rb") as f:  # VULNERABLE: the path comes from the request
                return f.read()
        except (IOError, OSError, ValueError):  # ValueError: a NUL byte (Python 3)
            return NOT_FOUND

    @app.route("/read")
    def read_file():
        return read(base + "/" + flask.request.args.get("name", ""))

    @app.route("/join")
    def join():
        return read(os.path.join(base, flask.request.args.get("name", "")))

    @app.route("/image")
    def image():
        return read("%s/%s.png" % (base, flask.request.args.get("name", "")))

    @app.route("/theme")
    def theme():
        return read("%s/themes/%s.css" % (base, flask.request.cookies.get("theme", "light")))

    @app.route("/i18n")
    def i18n():
        return read("%s/i18n/%s.txt" % (base, flask.request.headers.get("X-Lang", "en")))

    @app.route("/send")
    def send():
        return flask.send_from_directory(base, flask.request.args.get("name", ""))

    @app.route("/sendfile")
    def sendfile():
        try:
            return flask.send_file(base + "/" + flask.request.args.get("name", ""))
        except (IOError, OSError, ValueError):
            return NOT_FOUND

    @app.route("/delete", methods=["POST"])
    def delete():
        try:
            os.remove(base + "/" + flask.request.form.get("name", ""))
        except (IOError, OSError, ValueError):
            return NOT_FOUND
        return "deleted"

    return app


def make_download(base):
    """A plain WSGI app: ``/wsgi/download?name=`` streams ``base/name``."""
    from six.moves.urllib.parse import parse_qs

    def download(environ, start_response):
        name = parse_qs(environ.get("QUERY_STRING", "")).get("name", [""])[0]
        try:
            f = open(os.path.join(base, name), "rb")  # VULNERABLE: the path comes from the request
        except (IOError, OSError, ValueError):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found"]
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 8192)

    return download


def make_django_app(base):
    """A Django project of one view: ``/django/download?name=`` answers a ``FileResponse`` of base/name."""
    import django
    from django.conf import settings

    settings.configure(DEBUG=False, SECRET_KEY="path-app", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                       MIDDLEWARE=[], INSTALLED_APPS=[], USE_TZ=True)
    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.http import FileResponse, HttpResponseNotFound

    try:
        from django.urls import re_path
    except ImportError:  # Django 1.11
        from django.conf.urls import url as re_path

    def download(request):
        try:
            f = open(os.path.join(base, request.GET.get("name", "")), "rb")  # VULNERABLE
        except (IOError, OSError, ValueError):
            return HttpResponseNotFound("Not found")
        return FileResponse(f)

    global urlpatterns
    urlpatterns = [re_path(r"^django/download$", download)]
    return get_wsgi_application()


def make_app(root):
    import sqreen.wsgi

    base = os.path.join(root, "public")
    flask_app = make_flask_app(base)
    download = sqreen.wsgi.middleware(make_download(base))
    django_app = make_django_app(base)

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/wsgi/"):
            return download(environ, start_response)
        if path.startswith("/django/"):
            return django_app(environ, start_response)
        return flask_app(environ, start_response)

    return application


def _stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)  # exit handlers run: the agent's last flush


def main(argv):
    import sqreen

    sqreen.start()
    from sqreen._demo_app import serve

    signal.signal(signal.SIGTERM, _stop)
    serve(make_app(argv[0]), 0)


if __name__ == "__main__":
    main(sys.argv[1:])
