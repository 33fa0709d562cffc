"""What a blocked client gets: a small 403 page, HTML or JSON, carrying the event id.

The page says the request was blocked and gives the id of the attack event
so that the site's operator can find it; it says nothing of what matched.

A protection blocks by reporting its attack event and raising
``RequestBlocked`` with the event's id attached (:func:`raise_blocked`
does both), so that one blocked request makes exactly one event and the
middleware only has to read the id back (:func:`event_id_of`).
"""
import json
import re

from sqreen.instrumentation import RequestBlocked

STATUS = "403 Forbidden"

_HTML = (
    u"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>403 Forbidden</title></head>\n"
    u"<body><h1>403 Forbidden</h1>\n<p>Your request was blocked for security reasons.</p>\n"
    u"<p>Reference: <code>%s</code></p></body></html>\n"
)
_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")


class ResponseInterrupted(Exception):
    """Raised to the server when a request is blocked after its response has started.

    The status and headers are gone by then, so the server can only cut the
    connection, which tells the client the response is incomplete. A plain
    Exception: servers catch those from the response iterable, log them and
    carry on.
    """


def raise_blocked(event):
    """Report the attack ``event`` (built by ``sqreen._events.attack_event``) and stop the request."""
    from sqreen import _reporter

    _reporter.report(event)
    exc = RequestBlocked("request blocked, event %s" % event.get("event_id"))
    exc.event_id = event.get("event_id")
    raise exc


def event_id_of(exc):
    """The event id a ``RequestBlocked`` carries (its ``event_id``, or an event dict argument), or None."""
    event_id = getattr(exc, "event_id", None)
    if event_id:
        return str(event_id)
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, dict) and arg.get("event_id"):
            return str(arg["event_id"])
        if isinstance(arg, str) and _EVENT_ID.match(arg):
            return arg
    return None


def _accept_quality(accept):
    """``{media range: q}`` of an ``Accept`` header."""
    ranges = {}
    for item in accept.split(","):
        parts = item.split(";")
        media = parts[0].strip().lower()
        if not media:
            continue
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        ranges[media] = max(q, ranges.get(media, 0.0))
    return ranges


def _quality(ranges, media):
    kind = media.split("/")[0]
    for candidate in (media, kind + "/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


def prefers_json(accept):
    """True when ``Accept`` ranks JSON above HTML (HTML wins ties and a missing header)."""
    if not accept or "json" not in accept.lower():
        return False
    ranges = _accept_quality(accept)
    json_q = max([_quality(ranges, "application/json")]
                 + [q for media, q in ranges.items() if media.endswith("+json")])
    return json_q > _quality(ranges, "text/html")


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def response(event_id, accept=None):
    """``(status, headers, body bytes)`` of the 403 page for ``event_id``, shaped by ``Accept``."""
    reference = event_id or "-"
    if prefers_json(accept):
        body = json.dumps({"status": 403, "error": "request blocked for security reasons",
                           "event_id": event_id}).encode("utf-8")
        content_type = "application/json"
    else:
        body = (_HTML % _escape(reference)).encode("utf-8")
        content_type = "text/html; charset=utf-8"
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("Cache-Control", "no-store")]
    return STATUS, headers, body
