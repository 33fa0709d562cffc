"""A Flask app and a Django project that reflect request inputs in templates, for the XSS tests.

``python -m tests.protections.xss_apps flask|django PORT`` starts the agent
(its mode and events file from ``SQREEN_*``), then serves the app on
127.0.0.1 with the demo's wsgiref server (``LISTENING <port>`` once bound).
Both render ``xss_templates/page.html``: ``q`` through the engine's
escaping, ``comment`` through ``|safe`` (the reflected XSS).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "xss_templates")


def _args(request_args):
    return {"q": request_args.get("q", ""), "comment": request_args.get("comment", "")}


def flask_app():
    import flask

    app = flask.Flask(__name__, template_folder=TEMPLATES)

    @app.route("/ready")
    def ready():
        return "ok"

    @app.route("/page")
    def page():
        return flask.render_template("page.html", **_args(flask.request.args))

    @app.route("/string")
    def string():
        return flask.render_template_string("<b>{{ q }}</b><i>{{ comment|safe }}</i>",
                                            **_args(flask.request.args))

    @app.route("/stream")
    def stream():
        template = app.jinja_env.get_template("page.html")
        return flask.Response(template.stream(**_args(flask.request.args)), mimetype="text/html")

    return app


def django_app():
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False, SECRET_KEY="not-a-secret-test-only", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
        INSTALLED_APPS=[], MIDDLEWARE=[], MIDDLEWARE_CLASSES=[], LOGGING_CONFIG=None,
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [TEMPLATES]}],
    )
    django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _django_views():
    from django.http import HttpResponse
    from django.shortcuts import render
    from django.template.response import TemplateResponse

    def ready(request):
        return HttpResponse("ok")

    def page(request):
        return render(request, "page.html", _args(request.GET))

    def response(request):
        return TemplateResponse(request, "page.html", _args(request.GET))

    def autoescape_off(request):
        from django.template import engines

        template = engines["django"].from_string(
            "<p>{{ q }}</p>{% autoescape off %}<b>{{ comment }}</b>{% endautoescape %}")
        return HttpResponse(template.render(_args(request.GET), request))

    return [("ready", ready), ("page", page), ("response", response), ("off", autoescape_off)]


def _django_urls():
    try:
        from django.urls import re_path
    except ImportError:  # Django 1.11
        from django.conf.urls import url as re_path
    return [re_path("^%s$" % name, view) for name, view in _django_views()]


def main():
    import sqreen

    sqreen.start()
    kind, port = sys.argv[1], int(sys.argv[2])
    application = flask_app() if kind == "flask" else django_app()
    if kind == "django":
        globals()["urlpatterns"] = _django_urls()
    import signal

    from sqreen._demo_app import _stop, serve

    signal.signal(signal.SIGTERM, _stop)  # exit handlers run: the agent flushes its events
    serve(application, port)


if __name__ == "__main__":
    main()
