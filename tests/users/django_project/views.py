"""The project's login view: the ``authenticate`` it calls was imported with this module.

On Python 3 this module is imported before the agent starts (see
``wsgi.py``), so the reference below was taken before any hook existed.
"""
import json
import os

from django.contrib.auth import authenticate
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sqreen import _reporter

STARTUP = {}


def _json(data, status=200):
    return HttpResponse(json.dumps(data, sort_keys=True), content_type="application/json", status=status)


def ready(request):
    return _json({"pid": os.getpid()})


@csrf_exempt
def login(request):
    user = authenticate(request, handle=request.POST.get("handle"), password=request.POST.get("password"))
    if user is None:
        return _json({"ok": False}, status=401)
    return _json({"ok": True, "handle": user.handle})


def state(request):
    _reporter.flush(5)
    return _json({"startup": STARTUP})
