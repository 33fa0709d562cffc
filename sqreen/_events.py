"""Event construction: one plain function per kind, each returning a dict.

Every event shares an envelope (schema version, kind, unique id, UTC
timestamp with milliseconds, app name, host, pid and, when the caller has
one, the request as a plain dict); the rest depends on the kind. The schema
is documented field by field in ``docs/events.md``; ``SCHEMA_VERSION``
changes whenever a field changes meaning or disappears.

Constructors run on the application's thread, so they only copy and label
what they are given; secret redaction and serialisation happen later on the
reporter's thread (``sqreen._redact``, ``sqreen._reporter``). The one
exception is an attack input whose *name* is secret (a password field
carrying an injection): its value is blanked here, since its key is the
neutral ``value``.
"""
import os
import sys
import time
import traceback
import uuid

from sqreen import _redact

SCHEMA_VERSION = 1

KINDS = ("attack", "auth", "signup", "track", "agent_error", "metrics", "identify")

# The envelope: fields the agent fills in itself, exempt from redaction.
ENVELOPE_KEYS = frozenset(("schema_version", "kind", "event_id", "timestamp", "app_name", "host", "pid"))

# The request dict's documented keys; others are kept (and redacted).
REQUEST_KEYS = ("method", "path", "route", "client_ip", "user_agent", "request_id")

MAX_VALUE_CHARS = 4096
MAX_TRACEBACK_CHARS = 8192

_defaults = {"app_name": None}
_host = []


def set_app_name(name):
    """The app name stamped on events built without an explicit ``app_name``."""
    _defaults["app_name"] = name or None


def default_app_name():
    """The current default app name (falls back to the program's name)."""
    name = _defaults["app_name"]
    if name:
        return name
    argv0 = (getattr(sys, "argv", None) or [""])[0]
    return os.path.basename(argv0) or "python"


def hostname():
    """This machine's host name (looked up once)."""
    if not _host:
        # os.uname, not socket: importing socket would load the network stack
        # before gevent patches it, and a lazy import here could deadlock a
        # child forked while another thread held that import's lock.
        try:
            _host.append(os.uname()[1])
        except Exception:
            _host.append("unknown")
    return _host[0]


def utc_timestamp(now=None):
    """``now`` (seconds since the epoch) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if now is None:
        now = time.time()
    secs = int(now)
    millis = int((now - secs) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % millis


def envelope(kind, request=None, app_name=None, now=None):
    """The fields every event carries, for an event of ``kind``."""
    event = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "event_id": uuid.uuid4().hex,
        "timestamp": utc_timestamp(now),
        "app_name": app_name or default_app_name(),
        "host": hostname(),
        "pid": os.getpid(),
    }
    if request:
        event["request"] = dict(request)
    return event


def _clip(value, limit=MAX_VALUE_CHARS):
    if isinstance(value, (str, type(u""))) and len(value) > limit:
        return value[:limit] + "...[%d chars]" % len(value)
    return value


def attack_event(attack_type, request=None, rule=None, blocked=False, source=None, name=None,
                 value=None, detail=None, app_name=None):
    """An attack detected (and maybe blocked) by a protection.

    ``source``/``name``/``value`` locate the malicious input (e.g. "query",
    "q", "1' OR 1=1 --"); ``detail`` is a free dict of protection data.
    """
    event = envelope("attack", request, app_name)
    event["attack_type"] = attack_type
    event["rule"] = rule
    event["blocked"] = bool(blocked)
    if source is not None or name is not None or value is not None:
        if name is not None and _redact.is_secret_key(name):
            value = _redact.REDACTED
        event["input"] = {"source": source, "name": name, "value": _clip(value)}
    if detail:
        event["detail"] = dict(detail)
    return event


def auth_event(success, user=None, request=None, reason=None, app_name=None):
    """A login attempt: ``success`` True or False, ``user`` the identifiers tried."""
    event = envelope("auth", request, app_name)
    event["success"] = bool(success)
    event["user"] = dict(user) if user else {}
    if reason is not None:
        event["reason"] = reason
    return event


def signup_event(user, request=None, app_name=None):
    """A new account created, ``user`` its identifiers."""
    event = envelope("signup", request, app_name)
    event["user"] = dict(user) if user else {}
    return event


def track_event(name, properties=None, user=None, request=None, app_name=None):
    """A custom event sent through the SDK (``sqreen.track(name, ...)``)."""
    event = envelope("track", request, app_name)
    event["name"] = name
    event["properties"] = dict(properties) if properties else {}
    if user:
        event["user"] = dict(user)
    return event


def identify_event(user, traits=None, request=None, app_name=None):
    """The current request tied to a user through the SDK (``sqreen.identify(user, traits)``)."""
    event = envelope("identify", request, app_name)
    event["user"] = dict(user) if user else {}
    event["traits"] = dict(traits) if traits else {}
    return event


def agent_error_event(where, exc=None, message=None, request=None, app_name=None):
    """An error inside the agent itself; ``where`` names the component."""
    event = envelope("agent_error", request, app_name)
    error = {"where": where, "message": _clip(message) if message else None}
    if exc is not None:
        error["type"] = type(exc).__name__
        if message is None:
            error["message"] = _clip(_safe_str(exc))
        tb = getattr(exc, "__traceback__", None)
        if tb is None and sys.exc_info()[1] is exc:
            tb = sys.exc_info()[2]
        if tb is not None:
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            error["traceback"] = _clip(text, MAX_TRACEBACK_CHARS)
    event["error"] = error
    return event


def _safe_str(exc):
    try:
        return str(exc)
    except Exception:
        return repr(exc)


def metrics_event(period_start, period_end, events=None, dropped=0, errors=None, callback_errors=0,
                  budget_overruns=0, agent_time_ms=0.0, app_name=None):
    """What happened in the agent between ``period_start`` and ``period_end``.

    ``events`` counts reported events by kind, ``dropped`` events lost
    (queue overflow or sink failure), ``errors`` the agent's error counters
    (``sqreen._log``) that grew in the period, by key.
    """
    event = envelope("metrics", None, app_name, now=period_end)
    event["period"] = {"start": utc_timestamp(period_start), "end": utc_timestamp(period_end)}
    event["counts"] = {
        "events": dict(events or {}),
        "dropped": int(dropped),
        "errors": dict(errors or {}),
        "callback_errors": int(callback_errors),
        "budget_overruns": int(budget_overruns),
    }
    event["agent_time_ms"] = round(float(agent_time_ms), 3)
    return event
