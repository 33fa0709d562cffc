"""Template XSS under the agent, in a fresh interpreter per mode: every Jinja2 and Django entry point.

The agent starts, then the engines are imported (the import hook patches
them); each case renders inside a request made current by hand
(``sqreen._request.activate``) whose query carries the payload, and the
events file is read back after a flush. In monitor mode the page is
unchanged and one event is written per request; in block mode the page
has the payload escaped in place.
"""
import json
import os
import sys

import pytest

from tests.helpers import run_python

pytest.importorskip("jinja2")
pytest.importorskip("django")

PAYLOAD = "<img src=x onerror=alert(1)>"
DEFUSED = "&lt;img&#32;src&#61;x&#32;onerror&#61;alert(1)&gt;"

SCRIPT = r"""
import json, os, sys
import sqreen
assert sqreen.start()
import jinja2, markupsafe
from six.moves.urllib.parse import urlencode
from sqreen import _reporter, _request

PAYLOAD = %r
results = {}

def events():
    _reporter.flush(10)
    path = os.environ["SQREEN_EVENTS_FILE"]
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

def case(name, render, value=PAYLOAD, in_request=True):
    before = len(events())
    _request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/" + name,
                                        "QUERY_STRING": urlencode({"q": value})}) if in_request else None)
    out = render(value)
    _request.deactivate()
    new = events()[before:]
    results[name] = {"out": out, "events": [(e["attack_type"], e["blocked"], e["input"]["value"],
                                             e["detail"]["reason"]) for e in new]}

env = jinja2.Environment(autoescape=True, loader=jinja2.DictLoader({
    "part.html": "<p>{{ q }}</p><br>",
    "base.html": "<html><br>{%% block body %%}{%% endblock %%}</html>",
    "child.html": "{%% extends 'base.html' %%}{%% block body %%}<i>{{ q|safe }}</i>{%% endblock %%}",
}))
page = env.from_string("<p>{{ q }}</p><div>{{ q|safe }}</div>")
case("jinja2-render", lambda v: page.render(q=v))
case("jinja2-generate", lambda v: "".join(page.generate(q=v)))
case("jinja2-stream", lambda v: "".join(page.stream(q=v)))
case("jinja2-markup", lambda v: env.from_string("<p>{{ q }}</p>").render(q=markupsafe.Markup(v)))
case("jinja2-no-autoescape", lambda v: jinja2.Environment().from_string("<p>{{ q }}</p>").render(q=v))
case("jinja2-extends", lambda v: env.get_template("child.html").render(q=v))
case("jinja2-include-literal", lambda v: env.from_string("{%% include 'part.html' %%}").render(q=v),
     value="<br>")
case("jinja2-escaped", lambda v: env.from_string("<p>{{ q }}</p>").render(q=v))
case("jinja2-prose", lambda v: jinja2.Environment().from_string("<p>{{ q }}</p>").render(q=v),
     value="a < b")
case("jinja2-outside-request", lambda v: page.render(q=v), in_request=False)
if sys.version_info >= (3, 7):
    import asyncio
    async_env = jinja2.Environment(autoescape=True, enable_async=True)
    async_page = async_env.from_string("<div>{{ q|safe }}</div>")
    case("jinja2-render-async", lambda v: asyncio.run(async_page.render_async(q=v)))
    case("jinja2-async-env-render", lambda v: async_page.render(q=v))

import django
from django.conf import settings
settings.configure(USE_I18N=False, USE_TZ=False, ALLOWED_HOSTS=["*"], TEMPLATES=[{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", {
        "page.html": "<p>{{ q }}</p><div>{{ q|safe }}</div>",
        "part.html": "<p>{{ q }}</p><br>",
        "base.html": "<html><br>{%% block body %%}{%% endblock %%}</html>",
        "child.html": "{%% extends 'base.html' %%}{%% block body %%}<i>{{ q|safe }}</i>{%% endblock %%}",
        "include.html": "{%% include 'part.html' %%}",
    })]},
}])
django.setup()
from django.template import Context, Template, engines
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.test import RequestFactory
from django.utils.safestring import mark_safe

django_engine = engines["django"]
case("django-render-to-string", lambda v: render_to_string("page.html", {"q": v}))
case("django-template-response", lambda v: TemplateResponse(
    RequestFactory().get("/"), "page.html", {"q": v}).render().content.decode("utf-8"))
case("django-base-template", lambda v: Template("<b>{{ q }}</b>{{ q|safe }}").render(Context({"q": v})))
case("django-mark-safe", lambda v: django_engine.from_string("<p>{{ q }}</p>").render({"q": mark_safe(v)}))
case("django-autoescape-off", lambda v: django_engine.from_string(
    "{%% autoescape off %%}<p>{{ q }}</p>{%% endautoescape %%}").render({"q": v}))
case("django-extends", lambda v: render_to_string("child.html", {"q": v}))
case("django-include-literal", lambda v: render_to_string("include.html", {"q": v}), value="<br>")
case("django-escaped", lambda v: django_engine.from_string("<p>{{ q }}</p>").render({"q": v}))
case("django-outside-request", lambda v: render_to_string("page.html", {"q": v}), in_request=False)
print("RESULT " + json.dumps(results))
""" % (PAYLOAD,)

ATTACKED = ["jinja2-render", "jinja2-generate", "jinja2-stream", "jinja2-markup", "jinja2-no-autoescape",
            "jinja2-extends", "django-render-to-string", "django-template-response", "django-base-template",
            "django-mark-safe", "django-autoescape-off", "django-extends"]
if sys.version_info >= (3, 7):
    ATTACKED += ["jinja2-render-async", "jinja2-async-env-render"]
LEFT_ALONE = ["jinja2-include-literal", "jinja2-escaped", "jinja2-prose", "jinja2-outside-request",
              "django-include-literal", "django-escaped", "django-outside-request"]


@pytest.fixture(scope="module", params=["monitor", "block"])
def outcome(request, tmpdir_factory):
    tmpdir = str(tmpdir_factory.mktemp("xss"))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "DJANGO_")))
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE=request.param,
               SQREEN_EVENTS_FILE=os.path.join(tmpdir, "events.jsonl"))
    _, out, err = run_python(SCRIPT, env=env, timeout=120)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, (out, err)
    return request.param, json.loads(lines[-1][len("RESULT "):]), err


def test_every_entry_point_reports_one_event_per_request(outcome):
    mode, results, err = outcome
    for name in ATTACKED:
        events = results[name]["events"]
        assert len(events) == 1, (name, events, err)
        attack_type, blocked, value, reason = events[0]
        assert (attack_type, blocked, value) == ("xss", mode == "block", PAYLOAD), name
        assert reason == "tag"


def test_block_mode_escapes_the_payload_in_place_and_monitor_leaves_the_page(outcome):
    mode, results, _ = outcome
    for name in ATTACKED:
        out = results[name]["out"]
        if mode == "block":
            assert PAYLOAD not in out and DEFUSED in out, (name, out)
        else:
            assert PAYLOAD in out, (name, out)


def test_escaped_literal_benign_and_outside_request_pages_are_left_alone(outcome):
    _, results, _ = outcome
    for name in LEFT_ALONE:
        assert results[name]["events"] == [], name
    assert results["jinja2-prose"]["out"] == "<p>a < b</p>"
    assert PAYLOAD in results["jinja2-outside-request"]["out"]
    assert PAYLOAD in results["django-outside-request"]["out"]
    assert results["django-include-literal"]["out"] == "<p>&lt;br&gt;</p><br>"
