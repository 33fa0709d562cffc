"""Django's ``django.contrib.auth.authenticate``: every login attempt reported, and guarded.

One ``auth`` event per call: a success when it returns a user, a failure
when it returns ``None`` or raises ``PermissionDenied``. The identifiers
are the keyword arguments named in :data:`IDENTIFIER_KWARGS` or after the
user model's ``USERNAME_FIELD``, when not ``None``; never the password.
Before the backends run, an IP the account-takeover guard flagged is
refused in block mode (403); a success ties the request to the user, and a
blocked user is refused (see ``sqreen._auth``).

On CPython 3 the function's code is replaced in place, so references taken
before the agent started (``from django.contrib.auth import authenticate``
in a views module imported first) are hooked too. On Python 2.7 the
module's attribute is replaced: a reference taken before then is not.
``aauthenticate`` (Django 5) calls ``authenticate`` and is covered by it.
"""
from __future__ import absolute_import

from sqreen import _auth, _log, _users

#: Keyword arguments of ``authenticate`` that name the user.
IDENTIFIER_KWARGS = frozenset(("username", "email", "user", "mail", "login", "name", "id", "userid",
                               "user_id", "identification"))

_state = {"handles": [], "patched": []}


def _username_field(module):
    try:
        return module.get_user_model().USERNAME_FIELD
    except Exception:  # no user model configured (yet): the fixed names are enough
        return None


def identifiers(module, kwargs):
    """The identifiers among ``authenticate``'s keyword arguments."""
    field = _username_field(module)
    found = dict((name, value) for name, value in kwargs.items()
                 if value is not None and (name in IDENTIFIER_KWARGS or name == field))
    return _users.clean(found)


def _callbacks(module):
    def before_authenticate(instance, args, kwargs):
        _auth.refuse_flagged_ip(_auth.current_request())

    def after_authenticate(instance, args, kwargs, result):
        _auth.record(result is not None, identifiers(module, kwargs), _auth.current_request())

    def authenticate_failed(instance, args, kwargs, exc):
        from django.core.exceptions import PermissionDenied

        if isinstance(exc, PermissionDenied):
            _auth.record(False, identifiers(module, kwargs), _auth.current_request(),
                         reason="permission denied")

    return before_authenticate, after_authenticate, authenticate_failed


def patch(module):
    """Hook ``module.authenticate`` (``module`` is ``django.contrib.auth``), once."""
    if any(done is module for done in _state["patched"]):
        return
    from sqreen.instrumentation import hook

    pre, post, failing = _callbacks(module)
    try:
        _state["handles"].append(hook((module, "authenticate"), pre=pre, post=post, failing=failing))
    except Exception:
        _log.log_once("integration:django_auth", "sqreen: cannot hook django.contrib.auth.authenticate; "
                      "Django logins are not monitored", exc_info=True)
        return
    _state["patched"].append(module)


def unpatch():
    """Undo :func:`patch`."""
    while _state["handles"]:
        _state["handles"].pop().remove()
    del _state["patched"][:]
