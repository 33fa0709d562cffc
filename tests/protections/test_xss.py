# -*- coding: utf-8 -*-
"""Reflected XSS detection on pages rendered by the real engines (Jinja2 and Django templates).

Each vector is rendered by both engines into the context it attacks,
through ``|safe`` (or, where escaping cannot help -- URL attributes,
unquoted attribute values -- through the engine's escaping), and must be
found; escaped where escaping protects, it must not. Each benign input is
rendered escaped into every context and unescaped into text and quoted
attributes, and must never be found. Block mode's rewrite is checked by
rendering the neutralized page back through the detector.
"""
from __future__ import unicode_literals

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqreen.protections import _xss

jinja2 = pytest.importorskip("jinja2")
django = pytest.importorskip("django")


@pytest.fixture(scope="module", autouse=True)
def django_settings():
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False, USE_TZ=False)
    yield


#: Context name -> template (Jinja2 and Django share this syntax); ``V`` is the value, unescaped
#: where the template says ``|safe``.
CONTEXTS = {
    "text": "<p>{{ v|safe }}</p>",
    "attr-dq": '<a title="{{ v|safe }}">x</a>',
    "attr-sq": "<a title='{{ v|safe }}'>x</a>",
    "attr-unquoted": "<div class={{ v }}>x</div>",
    "href": '<a href="{{ v }}">x</a>',
    "href-safe": '<a href="{{ v|safe }}">x</a>',
    "script-dq": '<script>var s = "{{ v|safe }}";</script>',
    "script-sq": "<script>var s = '{{ v|safe }}';</script>",
    "in-tag": "<div {{ v|safe }}>x</div>",
    "textarea": "<textarea>{{ v|safe }}</textarea>",
    "comment": "<!-- {{ v|safe }} -->",
}

#: (context, payload, reason)
VECTORS = [
    ("text", "<script>alert(1)</script>", "tag"),
    ("text", "<ScRiPt>alert(1)</sCrIpT>", "tag"),
    ("text", "<img src=x onerror=alert(1)>", "tag"),
    ("text", "<IMG SRC=x OnErRoR=alert(1)>", "tag"),
    ("text", "<svg onload=alert(1)>", "tag"),
    ("text", "<svg/onload=alert(1)>", "tag"),
    ("text", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "tag"),
    ("text", "<math href=\"javascript:alert(1)\">CLICK</math>", "tag"),
    ("text", "<iframe src=\"javascript:alert(1)\"></iframe>", "tag"),
    ("text", "<body onload=alert(1)>", "tag"),
    ("text", "<details open ontoggle=alert(1)>", "tag"),
    ("text", "<input autofocus onfocus=alert(1)>", "tag"),
    ("text", "<video><source onerror=\"alert(1)\">", "tag"),
    ("text", "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">", "tag"),
    ("text", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>", "tag"),
    ("text", "<form><button formaction=javascript:alert(1)>x</button></form>", "tag"),
    ("text", "</p><script>alert(1)</script>", "tag"),
    ("text", "<!--><script>alert(1)</script>", "tag"),
    ("text", "<?xml version=\"1.0\"?><script>alert(1)</script>", "tag"),
    ("text", "x<marquee onstart=alert(1)>", "tag"),
    ("attr-dq", "\" onmouseover=\"alert(1)", "event-handler"),
    ("attr-dq", "\"><script>alert(1)</script>", "attribute"),
    ("attr-dq", "\" autofocus onfocus=alert(1) x=\"", "event-handler"),
    ("attr-dq", "\"onclick=\"alert(1)", "event-handler"),
    ("attr-dq", "\"/><svg onload=alert(1)>", "event-handler"),
    ("attr-dq", "\" style=\"background:url(x)\" x=\"", "attribute"),
    ("attr-sq", "' onmouseover='alert(1)", "event-handler"),
    ("attr-sq", "'><img src=x onerror=alert(1)>", "event-handler"),
    ("attr-unquoted", "x onmouseover=alert(1)", "event-handler"),
    ("attr-unquoted", "x\tONCLICK=alert(1)", "event-handler"),
    ("href", "javascript:alert(1)", "url"),
    ("href", "JaVaScRiPt:alert(1)", "url"),
    ("href", "  javascript:alert(1)", "url"),
    ("href", "java\tscript:alert(1)", "url"),
    ("href", "vbscript:msgbox(1)", "url"),
    ("href", "data:text/html,<script>alert(1)</script>", "url"),
    ("href-safe", "javascript&#58;alert(1)", "url"),
    ("href-safe", "&#x6A;avascript:alert(1)", "url"),
    ("href-safe", "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)", "url"),
    ("script-dq", "\";alert(1)//", "script"),
    ("script-dq", "</script><script>alert(1)</script>", "script"),
    ("script-dq", "</ScRiPt ><img src=x onerror=alert(1)>", "script"),
    ("script-sq", "'-alert(1)-'", "script"),
    ("script-sq", "';alert(document.cookie);'", "script"),
    ("in-tag", "onclick=alert(1)", "event-handler"),
    ("in-tag", "x OnMouseOver=alert(1)", "event-handler"),
    ("textarea", "</textarea><script>alert(1)</script>", "tag"),
    ("textarea", "</TEXTAREA><img src=x onerror=alert(1)>", "tag"),
    ("comment", "--><script>alert(1)</script>", "tag"),
    ("comment", "--!><img src=x onerror=alert(1)>", "tag"),
]

#: Inputs a real user sends; some carry characters the engines escape.
BENIGN = [
    "alice", "Bob Smith", "O'Brien", "l'été", "naïve café", "東京", "Ünïcödé ✓", "a < b", "x > y",
    "5 > 3 and 2 < 4", "1 << 2", "c++ <= java", "<3", ":-)", ";-) <-- me", "He said \"hi\" there",
    "it's \"fine\"", "12\" pizza", "'single'", "a=b", "x == y", "note: on=off", "onion = 3", "online=yes",
    "http://127.0.0.1:8000/path?a=1&b=2", "https://localhost/a#b", "mailto:someone@example.org",
    "tel:+331234", "data: 42 rows", "javascript is fun", "JavaScript - The Good Parts", "/search?q=x",
    "../docs/index", "&amp;", "&lt;script&gt;alert(1)&lt;/script&gt;", "AT&T", "Q&A", "R&D; 50%",
    "100%", "#hashtag", "@mention", "price: $5", "2024-01-02 10:30", "user@example.org", "(555) 123-4567",
    "a\\b\\c", "tab\tseparated", "line\nbreak", "1 + 1 = 2", "x = y + z", "-- comment --", "/* c */",
    "{{ not a template }}", "{% raw %}", "%3Cscript%3E", "\\u003cscript\\u003e", "null", "true",
    "0", "-1", "3.14", "a" * 300, "data:image/png;base64,iVBORw0KGgo=",
]
assert len(VECTORS) >= 40 and len(BENIGN) >= 60

ESCAPED_CONTEXTS = {
    "text": "<p>{{ v }}</p>",
    "attr-dq": '<a title="{{ v }}">x</a>',
    "attr-sq": "<a title='{{ v }}'>x</a>",
    "script-dq": '<script>var s = "{{ v }}";</script>',
    "script-sq": "<script>var s = '{{ v }}';</script>",
    "textarea": "<textarea>{{ v }}</textarea>",
    "comment": "<!-- {{ v }} -->",
}
UNESCAPED_CONTEXTS = ("text", "attr-dq", "attr-sq", "textarea", "comment")


def render_jinja2(source, value):
    return jinja2.Environment(autoescape=True).from_string(source).render(v=value)


def render_django(source, value):
    from django.template import Context, Engine

    return Engine(autoescape=True).from_string(source).render(Context({"v": value}))


ENGINES = {"jinja2": render_jinja2, "django": render_django}


def inputs(value):
    return [("query", "q", value), ("header", "user-agent", "Mozilla/5.0 (X11; Linux x86_64)")]


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("context,payload,reason", VECTORS)
def test_vector_reaching_the_page_unescaped_is_found(engine, context, payload, reason):
    page = ENGINES[engine](CONTEXTS[context], payload)
    attack = _xss.check(page, inputs(payload))
    assert attack is not None, page
    assert (attack.attack_type, attack.input, attack.reason) == ("xss", ("query", "q", payload), reason)
    start, end = attack.detail["span"]
    assert page[start:end] in (payload, payload.replace("<", "&lt;").replace(">", "&gt;"))
    defused = _xss.neutralize(page, [attack])
    assert _xss.check(defused, inputs(payload)) is None


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("context,payload,reason",
                         [v for v in VECTORS if v[0] in ESCAPED_CONTEXTS])
def test_vector_the_engine_escaped_is_not_found(engine, context, payload, reason):
    page = ENGINES[engine](ESCAPED_CONTEXTS[context], payload)
    assert _xss.check(page, inputs(payload)) is None, page


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_benign_inputs_are_never_found(engine):
    render = ENGINES[engine]
    sources = list(ESCAPED_CONTEXTS.values()) + [CONTEXTS[name] for name in UNESCAPED_CONTEXTS]
    sources.append(CONTEXTS["href"])
    found = []
    for value in BENIGN:
        for source in sources:
            page = render(source, value)
            attack = _xss.check(page, inputs(value), lambda: [source])  # as the integrations do
            if attack is not None:
                found.append((value, page, attack.reason))
    assert found == []


def test_prose_with_angle_brackets_is_not_a_tag():
    page = "<p>if a < b and c > d then</p>"
    assert _xss.check(page, inputs("a < b and c > d")) is None
    assert _xss.check("<p>x <b</p>", inputs("<b")) is not None  # "<b" does open a tag


def test_markup_the_template_itself_holds_is_not_blamed_on_the_input():
    page = render_jinja2('<input value="{{ v }}"><br>', '">')
    literals = ['<input value="', '"><br>']
    assert _xss.check(page, inputs('">'), lambda: literals) is None
    page = render_jinja2("<p>{{ v|safe }}</p><br>", "<br>")
    assert _xss.check(page, inputs("<br>"), lambda: ["<p>", "</p><br>"]) is None
    assert _xss.check(page, inputs("<br>")) is not None


def test_javascript_string_rules():
    template = '<script>var s = "{{ v|safe }}"; // "</script>'
    for value in ('\\";alert(1)//', "it's", 'say "hi', "</p>"):
        assert _xss.check(render_jinja2(template, value), inputs(value)) is None, value
    page = render_jinja2('<script>var t = `{{ v|safe }}`;</script>', "${alert(1)}")
    assert _xss.check(page, inputs("${alert(1)}")).reason == "script"


def test_input_kinds_and_the_pre_filter():
    assert _xss.markup_inputs([("json", "n", 3), ("query", "q", b"<b>x</b>"), ("query", "x", None)]) == [
        ("query", "q", "<b>x</b>", "<b>x</b>")]
    assert not _xss.carries_markup("plain words, 100% fine")
    assert _xss.carries_markup("JAVA&#x09;SCRIPT:alert(1)")
    assert not _xss.dangerous_url("data:image/png;base64,AAAA")
    assert _xss.dangerous_url("data:image/svg+xml,<svg onload=alert(1)>")


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("encoded,decode", [
    ("&lt;img src=x onerror=alert(1)&gt;", "entities"),
    ("&#60;svg onload=alert(1)&#62;", "entities"),
    ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", "percent"),
    ("%22%20onmouseover%3D%22alert(1)", "percent"),
])
def test_input_the_application_decodes_before_showing_it_unescaped(engine, encoded, decode):
    from six.moves.urllib.parse import unquote

    decoded = _xss._unescape(encoded) if decode == "entities" else unquote(encoded)
    context = "text" if decoded.startswith("<") else "attr-dq"
    page = ENGINES[engine](CONTEXTS[context], decoded)
    attack = _xss.check(page, inputs(encoded), lambda: [CONTEXTS[context]])
    assert attack is not None and attack.input == ("query", "q", encoded), page
    assert _xss.check(_xss.neutralize(page, [attack]), inputs(encoded)) is None
    escaped = ENGINES[engine](ESCAPED_CONTEXTS[context], decoded)
    assert _xss.check(escaped, inputs(encoded)) is None


def test_every_overlapping_occurrence_is_defused_once():
    payload = "<img src=x onerror=alert(1)>"
    page = "<p>%s</p><p>%s</p><a title=\"%s\">" % (payload, payload, payload)
    attacks = _xss.find_attacks(page, _xss.markup_inputs(inputs(payload)))
    assert len(attacks) == 2  # in the title attribute the payload is a harmless string
    defused = _xss.neutralize(page, attacks)
    assert "<img" not in defused.split("<a")[0] and defused.endswith('<a title="%s">' % payload)


def test_one_pass_scan_agrees_with_a_scan_from_the_start_everywhere():
    page = ('<!doctype html><html><head><title>t < x</title><style>p > a {}</style></head><body>'
            '<!-- a <b> comment --><p class=x id="a>b" data-x=\'c"d\'>text &amp; <b>bold</b></p>'
            '<script>var s = "a</p>" + \'b\' + `c`; // "</script><textarea><a></textarea>'
            '<a href="/x?a=1&b=2" onclick="go()">link</a><?php x ?><br/><img src=y alt=z>end')
    resume = 0
    for pos in range(len(page) + 1):
        context, resume = _xss.scan(page, pos, resume)
        assert context == _xss.context_at(page, pos), pos


def test_page_check_never_raises_into_the_app_and_reports_an_input_once():
    from sqreen import _request
    from sqreen.integrations import _template_xss

    request = _request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "q=%3Cb%3Ex"})
    _request.activate(request)
    try:
        assert _template_xss.check_page("<p><b>x</p>", lambda: 1 / 0) is None  # monitor: page unchanged
        assert _template_xss.check_page(42, list) is None
        pieces = list(_template_xss.check_stream(iter(["<p>", "<b>x", "</p>"]), list))
        assert pieces == ["<p>", "<b>x", "</p>"]
        assert request._cache["xss_reported"] == {("query", "q", "<b>x")}
    finally:
        _request.deactivate()
    assert _template_xss.check_page("<p><b>x</p>", list) is None  # outside a request


# The pre-filter as one regex: what carries_markup's faster parts must agree with.
_MARKUP_SPEC = re.compile(r"""<[a-z/!?]|["'`>]|on[a-z]+\s*=|\s[^\s=]*=|\$\{""", re.I)
_SPEC_ALPHABET = "aonONxb1 =\t\n\r<>\"'`${/!?:&;#%jJvVdDtTsScCrRiIpP\u2003\u017f\u212a\u0130\u0131"


def _spec_carries_markup(value):
    if _MARKUP_SPEC.search(value):
        return True
    return bool(re.search(r"[:&]", value)) and _xss.dangerous_url(value)


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.text(alphabet=_SPEC_ALPHABET, max_size=16),
       st.sampled_from(["", "javascript:", "JaVa\tscript:", " data:text/html,", "vbscript:",
                        "&#106;avascript:"]))
def test_the_markup_prefilter_agrees_with_its_one_regex_spec(value, head):
    text = head + value
    assert _xss.carries_markup(text) == _spec_carries_markup(text)


def test_markup_inputs_are_the_same_when_a_value_comes_back():
    inputs = [("header", "user-agent", "Mozilla/5.0 (X11)"), ("query", "q", "<b onclick=x>"),
              ("query", "u", "javascript:alert(1)&x=<y>"), ("query", "e", "%3Cscript%3E")]
    first = _xss.markup_inputs(inputs)
    assert [text for _, _, text, _ in first] == [
        "<b onclick=x>", "javascript:alert(1)&x=<y>", "javascript:alert(1)&amp;x=&lt;y&gt;", "<script>"]
    assert _xss.markup_inputs(inputs) == first
