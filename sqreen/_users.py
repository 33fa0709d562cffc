"""Who the current request is: a user's identifiers tied to the request, and the blocked users.

A request is tied to a user by ``sqreen.identify``, a successful
``sqreen.auth_track`` or a successful Django ``authenticate``; from then
on the attack events of that request carry the user (``stamp``). A user
is blocked when ``sqreen.block_user`` named them or the ``user_blocklist``
setting lists one of their identifiers: an entry matches when every one of
its ``key=value`` pairs is among the user's identifiers (values compared as
trimmed, case-insensitive text, so ``Bob@Example.com`` is ``bob@example.com``).

Identifiers never carry a secret: a key that names one (``password``, ...,
see ``sqreen._redact``) is dropped, as are ``None`` values.
"""
import threading

import six

from sqreen import _redact

#: The key of the user in the request's per-request values.
_REQUEST_KEY = "sqreen.user"
_SCALARS = six.string_types + six.integer_types + (float, bool)

_lock = threading.Lock()
_blocked = []  # entries added by block_user: frozensets of normalised pairs


def clean(identifiers):
    """A copy of ``identifiers`` without ``None`` values or secret keys; other values as JSON scalars."""
    out = {}
    for key, value in (identifiers or {}).items():
        if value is None or _redact.is_secret_key(key):
            continue
        out[key] = value if isinstance(value, _SCALARS) else six.text_type(value)
    return out


def _pair(key, value):
    return six.text_type(key).strip().lower(), six.text_type(value).strip().lower()


def pairs(identifiers):
    """The normalised ``(key, value)`` pairs of ``identifiers``, as a frozenset."""
    return frozenset(_pair(key, value) for key, value in identifiers.items())


def counter_key(identifiers):
    """One text naming these identifiers, for the per-identifier failure counter (None when empty)."""
    if not identifiers:
        return None
    return "&".join("%s=%s" % pair for pair in sorted(pairs(identifiers)))


def set_user(request, identifiers):
    """Tie ``request`` to the user ``identifiers`` (cleaned already)."""
    request._cache[_REQUEST_KEY] = dict(identifiers)


def user_of(request):
    """The identifiers ``request`` was tied to, or None."""
    if request is None:
        return None
    return request._cache.get(_REQUEST_KEY)


def stamp(event, request):
    """Add the request's user to ``event`` (when it has one and the event names none)."""
    user = user_of(request)
    if user and "user" not in event:
        event["user"] = dict(user)


def block_user(identifiers):
    """Block the user these identifiers name (in this process, until it exits)."""
    entry = pairs(clean(identifiers))
    if not entry:
        return False
    with _lock:
        if entry not in _blocked:
            _blocked.append(entry)
    return True


def unblock_all():
    """Forget the users :func:`block_user` blocked (for tests)."""
    with _lock:
        del _blocked[:]


def blocked_entry(identifiers, config_pairs=()):
    """The first blocklist entry matching ``identifiers`` (a set of pairs), or None."""
    if not identifiers:
        return None
    have = pairs(identifiers)
    for key, value in config_pairs:
        if _pair(key, value) in have:
            return frozenset([_pair(key, value)])
    for entry in list(_blocked):
        if entry <= have:
            return entry
    return None
