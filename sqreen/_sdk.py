"""The user-monitoring SDK behind ``sqreen.auth_track``, ``signup_track``, ``identify``, ``track`` and
``block_user``.

Called only while the agent runs (the public functions return None at once
otherwise). Each call is validated first: a bad call logs one warning per
kind of mistake and returns False; a good one reports its event and
returns True. No error leaves these functions, except ``RequestBlocked``
when the agent refuses the request (a flagged IP logging in, a blocked
user identified) in block mode: the request layer answers it with a 403.

Outside a request the events are still reported, without request fields.
"""
import calendar
import datetime
import json
import numbers

import six

from sqreen import _auth, _events, _log, _reporter, _users
from sqreen.instrumentation import RequestBlocked

#: The most properties a ``track`` event may carry.
MAX_PROPERTIES = 16
#: The longest event name ``track`` accepts.
MAX_NAME_CHARS = 256


class Invalid(ValueError):
    """A bad SDK call; ``key`` names the kind of mistake (one warning each)."""

    def __init__(self, key, message):
        ValueError.__init__(self, message)
        self.key = key


def _warn(function, exc):
    _log.log_once("sdk:%s:%s" % (function, exc.key), "sqreen.%s: %s; nothing was recorded", function, exc)


def _safely(function, body):
    """Run ``body()``: True when it recorded, False (one warning) when the call was bad or failed."""
    try:
        body()
        return True
    except RequestBlocked:
        raise
    except Invalid as exc:
        _warn(function, exc)
    except Exception:
        _log.log_once("sdk:%s:error" % function, "sqreen.%s failed; the application goes on", function,
                      exc_info=True)
    return False


def _json_ready(value, what, key):
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise Invalid(key, "%s must be JSON-serialisable (%s)" % (what, exc))


def _mapping(value, what, key, required=False):
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Invalid(key, "%s must be a dict, not %s" % (what, type(value).__name__))
    for name in value:
        if not isinstance(name, six.string_types):
            raise Invalid(key, "%s keys must be strings, not %r" % (what, name))
    _json_ready(value, what, key)
    return value


def identifiers_of(value, required=False):
    """The cleaned identifiers of an SDK call (see ``sqreen._users.clean``); Invalid when malformed."""
    ids = _users.clean(_mapping(value, "identifiers", "identifiers"))
    if required and not ids:
        raise Invalid("no-identifiers", "at least one identifier (not None, not a secret) is needed")
    return ids


def event_name(name):
    if not isinstance(name, six.string_types) or not name.strip():
        raise Invalid("name", "the event name must be a non-empty string, not %r" % (name,))
    if len(name) > MAX_NAME_CHARS:
        raise Invalid("name", "the event name is longer than %d characters" % MAX_NAME_CHARS)
    return name


def properties_of(properties):
    props = _mapping(properties, "properties", "properties")
    if len(props) > MAX_PROPERTIES:
        raise Invalid("too-many-properties", "at most %d properties, not %d" % (MAX_PROPERTIES, len(props)))
    return props


def timestamp_of(value):
    """Seconds since the epoch for ``None`` (now), a number of seconds or a datetime (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return calendar.timegm(value.utctimetuple()) + value.microsecond / 1e6
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value \
            and 0 <= value < 1e11:
        return float(value)
    raise Invalid("timestamp", "the timestamp must be a datetime or seconds since the epoch, not %r"
                  % (value,))


def _request_fields(request):
    return request.event_dict() if request is not None else None


def auth_track(success, identifiers):
    def body():
        ids = identifiers_of(identifiers)
        request = _auth.current_request()
        _auth.refuse_flagged_ip(request)
        _auth.record(bool(success), ids, request)

    return _safely("auth_track", body)


def signup_track(identifiers):
    def body():
        ids = identifiers_of(identifiers, required=True)
        request = _auth.current_request()
        _reporter.report(_events.signup_event(ids, request=_request_fields(request)))

    return _safely("signup_track", body)


def identify(identifiers, traits=None):
    def body():
        ids = identifiers_of(identifiers, required=True)
        extra = _mapping(traits, "traits", "traits")
        request = _auth.current_request()
        _reporter.report(_events.identify_event(ids, extra, request=_request_fields(request)))
        _auth.identify(ids, request)

    return _safely("identify", body)


def track(name, properties=None, user_identifiers=None, timestamp=None):
    def body():
        event_name(name)
        props = properties_of(properties)
        user = identifiers_of(user_identifiers)
        when = timestamp_of(timestamp)
        request = _auth.current_request()
        event = _events.track_event(name, props, user=user, request=_request_fields(request))
        if when is not None:
            event["timestamp"] = _events.utc_timestamp(when)
        _users.stamp(event, request)
        _reporter.report(event)

    return _safely("track", body)


def block_user(identifiers):
    def body():
        ids = identifiers_of(identifiers, required=True)
        _users.block_user(ids)

    return _safely("block_user", body)
