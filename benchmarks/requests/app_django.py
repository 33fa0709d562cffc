"""The Django app of the request benchmark, in one module: settings, views, URLs and ``application``.

``/hello``, ``/query`` (one SELECT through Django's connection, one
template from ``templates/``) and ``/agent`` (see ``_agent_probe``). The
database is the sqlite3 file ``BENCH_DB``; Django closes its connection at
the end of each request (``CONN_MAX_AGE`` 0, the default).
"""
import os

import django
from django.conf import settings

import _db

HERE = os.path.dirname(os.path.abspath(__file__))

settings.configure(
    DEBUG=False,
    SECRET_KEY="benchmark-only-not-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _db.path()}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [os.path.join(HERE, "templates")]}],
    USE_TZ=True,
)
django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

_SQL = _db.QUERY.replace("?", "%s")


def hello(request):
    return HttpResponse("Hello, world!")


def query(request):
    with connection.cursor() as cursor:
        cursor.execute(_SQL, [_db.PRICE_LIMIT])
        rows = cursor.fetchall()
    return render(request, "items.html", {"title": _db.TITLE, "items": _db.as_dicts(rows)})


def agent(request):
    from _agent_probe import probe

    return JsonResponse(probe(collect="gc" in request.GET))


urlpatterns = [path("hello", hello), path("query", query), path("agent", agent)]

application = get_wsgi_application()
