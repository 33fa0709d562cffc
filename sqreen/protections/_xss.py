"""Reflected XSS: a request input that carries markup reaches a rendered page unescaped.

The template integrations hand over the text a template engine rendered
and the request's inputs. An input is looked for only when it carries
markup (:func:`carries_markup`: a ``<`` that can open a tag, a quote, a
``>``, an attribute assignment after a space, an ``on...=`` handler, a
``javascript:`` / ``vbscript:`` / ``data:`` URL), and only verbatim: the
engine's escaping changes every such character but ``=``, spaces and a URL
scheme, so an escaped input is simply not found. Where one is found, the
page is read as a browser's tokenizer would up to that place (text, inside
a tag, a quoted or unquoted attribute value, a comment, a ``<script>`` and
the JavaScript string in it, another raw-text element) and the input is
judged in that context: it is an attack only when it changes the page's
structure there -- a tag in text (``a < b`` is not one), a quote that
closes its attribute followed by another attribute or ``>``, an event
handler inside a tag, a dangerous URL at the start of a URL attribute,
``</script>`` or a quote that ends the JavaScript string it sits in.

An input found verbatim that the templates themselves contain (their
literal text, handed over lazily by the integration) is left alone: the
page wrote that markup, not the request.

Everything here is plain substring and regex work on the page, paid only
when a markup-carrying input occurs in it verbatim; the common page costs
one ``in`` per such input (see ``_matching``).
"""
import re

import six

from sqreen.protections._attack import Attack
from sqreen.protections._matching import find_occurrences

from six.moves.urllib.parse import unquote as _unquote

try:
    from html import unescape as _unescape
except ImportError:  # Python 2.7
    from six.moves.html_parser import HTMLParser as _Parser

    _unescape = _Parser().unescape

#: The ``attack_type`` of the events.
XSS = "xss"

# A quick test whether a value can change a page's structure anywhere: a quote, ``>``, a tag
# opening, ``${``, an ``on...=`` handler or a ``name=`` after white space. Every header of every
# request goes through it, so each regex starts with a set of characters (the engine then skips
# to the next candidate instead of trying each alternative at every position).
_MARKUP_CHARS = re.compile(r"""[<"'`>$](?:(?<=<)[a-z/!?]|(?<=\$)\{|(?<=["'`>]))""", re.I)
_SPACE = re.compile(r"\s")
_HANDLER_ASSIGNMENT = re.compile(r"on[a-z]+\s*=", re.I)
# A data: URL is a page (or runs a script) when its media type is HTML, XML, SVG or a script.
_ACTIVE_DATA = re.compile(r"data:[^,;]*(?:html|xml|svg|script)")
_LEADING = re.compile(u"^[\x00-\x20]+")
_DROPPED = re.compile(u"[\t\n\r]+")
_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")

#: Attributes whose value the browser follows as a URL.
URL_ATTRIBUTES = frozenset((
    "href", "src", "action", "formaction", "xlink:href", "data", "background", "poster", "codebase",
    "cite", "lowsrc", "dynsrc", "ping", "manifest", "icon", "longdesc", "usemap", "archive", "classid",
    "values", "to", "from", "by", "srcset",
))
#: Elements whose content is raw text, ended only by their own end tag.
RAW_TEXT = frozenset(("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
                      "noscript", "plaintext"))

_OPEN = re.compile(r"<(?:!--|[!?]|/?[a-zA-Z])")
_SPACE_SLASH = re.compile(r"[\s/]*")
_SPACES = re.compile(r"\s*")
_NAME = re.compile(r"[^\s/>][^\s/>=]*")
_UNQUOTED = re.compile(r"[^\s>]*")
_TAG_NAME = re.compile(r"[^\s/>]+")

_TAG_START = re.compile(r"<(?:[a-zA-Z!?]|/[a-zA-Z])")
_HANDLER = re.compile(r"(?:^|[\s/\"'`])on[a-z]+\s*=", re.I)
_NEW_ATTRIBUTE = re.compile(r"[\s/]*(?:>|[^\s\"'>/=]+\s*=)")
_UNQUOTED_BREAK = re.compile(r"\s+[^\s\"'>/=]+\s*=|>")
_COMMENT_END = re.compile(r"--!?>")
# What follows a string that ends early for the script to go on with code of the input's.
_JS_AFTER_STRING = re.compile(r"\s*[-;+*/%,)\]}|&^<>=?:.(\[]")
_URL_ASSIGNMENT = re.compile(r"(?:^|[\s/\"'])([^\s\"'>/=]+)\s*=\s*[\"']?(.*)", re.S)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) and \
        not isinstance(value, six.text_type) else value


def dangerous_url(text):
    """True when ``text``, read as an attribute value by a browser, starts with a script-running URL."""
    if "&" in text:
        text = _unescape(text)
    text = _DROPPED.sub(u"", _LEADING.sub(u"", text[:128])).lower()
    if not text.startswith(_DANGEROUS_SCHEMES):
        return False
    return not text.startswith("data:") or bool(_ACTIVE_DATA.match(text))


def _has_markup(value):
    if _MARKUP_CHARS.search(value):
        return True
    last = value.rfind("=")
    if last < 0:
        return False
    # White space anywhere before an "=" means some " name=" (no "=" in the name) precedes it.
    return bool(_SPACE.search(value, 0, last) or _HANDLER_ASSIGNMENT.search(value, 0, last + 1))


def _could_be_scheme(value):
    """False when ``value`` (with no ``&``) cannot start with javascript:, vbscript: or data:."""
    colon = value.find(":")
    return colon > 0 and value[colon - 1] in "tTaA\t\n\r"


def carries_markup(value):
    """True when the text ``value`` could change a page's structure somewhere (cheap pre-filter)."""
    if _has_markup(value):
        return True
    return ("&" in value or _could_be_scheme(value)) and dangerous_url(value)


def _html_escaped(value):
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markup_inputs(inputs):
    """What to look for: ``(source, name, text, value)`` for each input whose text value carries markup.

    ``text`` is the value itself; a dangerous URL with ``&``, ``<`` or
    ``>`` in it is also looked for as the engines escape it (a browser
    decodes an attribute value: ``data:text/html,&lt;script&gt;`` still
    runs), and a value with character references or percent-escapes as
    the markup it decodes to (an application or a filter that decodes it
    before the page shows it unescaped).
    """
    out = []
    known = _texts_known
    for item in inputs:
        value = item[2]
        if isinstance(value, bytes) and not isinstance(value, six.text_type):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, six.text_type) or len(value) < 2:
            continue
        texts = known.get(value)
        if texts is None:
            texts = _texts_to_find(value)
            if len(value) <= _MAX_KNOWN_LENGTH:
                if len(known) >= _MAX_KNOWN:
                    known.clear()
                known[value] = texts
        for text in texts:
            out.append((item[0], item[1], text, value))
    return out


# Most values come back request after request (the same User-Agent, Host, Accept...):
# the texts each one asks to look for are kept, for short values, in a bounded map.
_texts_known = {}
_MAX_KNOWN = 4096
_MAX_KNOWN_LENGTH = 512


def _texts_to_find(value):
    """What :func:`markup_inputs` looks for in a page for the input text ``value`` (a tuple)."""
    texts = []
    if carries_markup(value):
        texts.append(value)
        escaped = _html_escaped(value)
        if escaped != value and dangerous_url(value):
            texts.append(escaped)
    texts.extend(_decoded(value))
    return tuple(texts)


def _decoded(value):
    """The markup an encoded value turns into once the application decodes it (entities, percent-escapes)."""
    found = []
    if "&" in value:
        found.append(_unescape(value))
    if "%" in value:
        found.append(_unquote(value))
    return [text for text in found if text != value and len(text) >= 2 and _has_markup(text)]


# Contexts: (kind, tag, attribute, quote, value_start, content_start)
DATA, TAG, ATTRIBUTE, COMMENT, RAW, SCRIPT = "text", "tag", "attribute", "comment", "raw-text", "script"


def _raw_text_end(html, tag, start, pos):
    """Where the raw-text element ``tag`` opened at ``start`` ends, or None when it runs past ``pos``."""
    end = re.compile(r"</" + re.escape(tag), re.I).search(html, start)
    return None if end is None or end.start() >= pos else end.start()


def _tag_context(html, j, tag, pos):
    """Read a start tag's attributes from ``j``.

    Returns ``(context, None)`` when ``pos`` is inside the tag, else ``(None, index after the tag)``.
    """
    size = len(html)
    while True:
        j = _SPACE_SLASH.match(html, j).end()
        if j >= pos:
            return (TAG, tag, None, None, None, None), None
        if j >= size or html[j] == ">":
            return None, j + 1
        name = _NAME.match(html, j)
        j = name.end()
        if j >= pos:
            return (TAG, tag, None, None, None, None), None
        k = _SPACES.match(html, j).end()
        if html[k:k + 1] != "=":
            j = k
            continue
        k = _SPACES.match(html, k + 1).end()
        attribute = name.group().lower()
        if k >= pos:
            return (ATTRIBUTE, tag, attribute, "", pos, None), None
        quote = html[k]
        if quote in "\"'":
            end = html.find(quote, k + 1)
            if end < 0 or end >= pos:
                return (ATTRIBUTE, tag, attribute, quote, k + 1, None), None
            j = end + 1
        else:
            end = _UNQUOTED.match(html, k).end()
            if end >= pos:
                return (ATTRIBUTE, tag, attribute, "", k, None), None
            j = end


def scan(html, pos, start=0):
    """``(context, resume)``: the tokenizer context of ``html`` at ``pos`` (see ``DATA`` ... ``SCRIPT``).

    ``start`` is where text begins (0, or a ``resume`` from an earlier
    call for a position at or before ``pos``), so that one pass reads a
    page for all its occurrences in order.
    """
    i = start
    while True:
        top = i
        m = _OPEN.search(html, i, pos)
        if m is None:
            return (DATA, None, None, None, None, None), top
        opener = m.group()
        if opener == "<!--":
            end = html.find("-->", m.end())
            if end < 0 or end + 3 > pos:
                return (COMMENT, None, None, None, None, None), top
            i = end + 3
            continue
        end = html.find(">", m.end())
        if opener in ("<!", "<?") or opener.startswith("</"):
            if end < 0 or end >= pos:
                return (COMMENT if opener in ("<!", "<?") else TAG, None, None, None, None, None), top
            i = end + 1
            continue
        name = _TAG_NAME.match(html, m.start() + 1)
        tag = name.group().lower()
        context, i = _tag_context(html, name.end(), tag, pos)
        if context is not None:
            return context, top
        if tag in RAW_TEXT:
            close = _raw_text_end(html, tag, i, pos)
            if close is None:
                return (SCRIPT if tag == "script" else RAW, tag, None, None, None, i), top
            i = close


def context_at(html, pos):
    """The tokenizer context of ``html`` at ``pos`` (a tuple, see ``DATA`` ... ``SCRIPT``)."""
    return scan(html, pos)[0]


def _js_quote(html, start, pos):
    """The quote of the JavaScript string open at ``pos`` in a script that starts at ``start``, or None."""
    i, quote = start, None
    while i < pos:
        char = html[i]
        if quote is not None:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "/" and html[i + 1:i + 2] == "/":
            end = html.find("\n", i, pos)
            if end < 0:
                return None
            i = end
        elif char == "/" and html[i + 1:i + 2] == "*":
            end = html.find("*/", i + 2, pos)
            if end < 0:
                return None
            i = end + 1
        i += 1
    return quote


def _closes(value, quote):
    """The index just past the first ``quote`` in ``value`` that a backslash does not escape, or -1."""
    i = 0
    while True:
        i = value.find(quote, i)
        if i < 0:
            return -1
        slashes = len(value[:i]) - len(value[:i].rstrip("\\"))
        if slashes % 2 == 0:
            return i + 1
        i += 1


def _judge_attribute(context, html, start, value):
    _, _, attribute, quote, value_start, _ = context
    if quote:
        end = value.find(quote)
        if end >= 0:
            rest = value[end + 1:]
            if _HANDLER.search(rest):
                return "event-handler"
            if _NEW_ATTRIBUTE.match(rest):
                return "attribute"
    else:
        found = _UNQUOTED_BREAK.search(value)
        if found:
            return "event-handler" if _HANDLER.search(value[found.start():]) else "attribute"
    if attribute in URL_ATTRIBUTES and not html[value_start:start].strip() and dangerous_url(value):
        return "url"
    return None


def judge(context, html, start, value):
    """How ``value``, found at ``start`` of ``html`` in ``context``, changes the page (None: it does not)."""
    kind = context[0]
    if kind == DATA:
        return "tag" if _TAG_START.search(value) else None
    if kind == ATTRIBUTE:
        return _judge_attribute(context, html, start, value)
    if kind == TAG:
        if _HANDLER.search(value):
            return "event-handler"
        url = _URL_ASSIGNMENT.search(value)
        if url and url.group(1).lower() in URL_ATTRIBUTES and dangerous_url(url.group(2)):
            return "url"
        close = value.find(">")
        return "tag" if close >= 0 and _TAG_START.search(value, close) else None
    if kind == COMMENT:
        close = _COMMENT_END.search(value)
        return "tag" if close and _TAG_START.search(value, close.end()) else None
    if kind == SCRIPT:
        if re.search(r"</script", value, re.I):
            return "script"
        quote = _js_quote(html, context[5], start)
        if quote is None:
            return None
        end = _closes(value, quote)
        if (end >= 0 and _JS_AFTER_STRING.match(value, end)) or (quote == "`" and "${" in value):
            return "script"
        return None
    if kind == RAW and re.search(r"</" + re.escape(context[1]), value, re.I):
        return "tag"
    return None


def _literal(value, literals, cache):
    if "texts" not in cache:
        try:
            cache["texts"] = [_text(t) for t in (literals() if literals is not None else ())]
        except Exception:
            cache["texts"] = []
    return any(value in text for text in cache["texts"])


def find_attacks(html, inputs, literals=None):
    """Every place an input bent the page: a list of ``Attack`` (``detail`` has ``span``, ``context``).

    ``inputs`` come from :func:`markup_inputs`; ``literals``
    is a callable that returns the templates' literal texts, called at most
    once, when an input is first found where it would act. Spans do not
    overlap and come in page order.
    """
    html = _text(html)
    cache = {}
    attacks = []
    resume = 0
    for item, start, end in sorted(find_occurrences(html, inputs), key=lambda found: found[1]):
        value = html[start:end]
        if _literal(value, literals, cache):
            continue
        context, resume = scan(html, start, resume)
        reason = judge(context, html, start, value)
        if reason is None:
            continue
        detail = {"span": [start, end], "context": context[0]}
        if context[1]:
            detail["tag"] = context[1]
        if context[2]:
            detail["attribute"] = context[2]
        attacks.append(Attack(XSS, (item[0], item[1], item[-1]), reason, detail))
    attacks.sort(key=lambda attack: attack.detail["span"][0])
    kept, last = [], -1
    for attack in attacks:
        if attack.detail["span"][0] >= last:
            kept.append(attack)
            last = attack.detail["span"][1]
    return kept


def check(html, inputs, literals=None):
    """The first ``Attack`` of :func:`find_attacks` for raw request ``inputs``, or None."""
    candidates = markup_inputs(inputs)
    if not candidates:
        return None
    found = find_attacks(html, candidates, literals)
    return found[0] if found else None


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "`": "&#96;",
            "=": "&#61;"}
_TO_ESCAPE = re.compile(r"[&<>\"'`=]|\s")


def _escape_char(match):
    char = match.group()
    return _ESCAPES.get(char) or "&#%d;" % ord(char)


def escape(text, attack=None):
    """``text`` with every character that can end a context written as a character reference.

    Spaces are escaped too (an unquoted attribute ends at one); a URL that
    would run a script gets an ``unsafe:`` scheme in front.
    """
    escaped = _TO_ESCAPE.sub(_escape_char, text)
    if attack is not None and attack.reason == "url":
        escaped = u"unsafe:" + escaped
    return escaped


def neutralize(html, attacks):
    """``html`` with each attack's span replaced by its escaped form (attacks from :func:`find_attacks`)."""
    html = _text(html)
    parts, last = [], 0
    for attack in attacks:
        start, end = attack.detail["span"]
        parts.append(html[last:start])
        parts.append(escape(html[start:end], attack))
        last = end
    parts.append(html[last:])
    return u"".join(parts)
