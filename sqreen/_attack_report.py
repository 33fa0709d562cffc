"""From a protection's verdict to the event, and to the 403 in block mode: the glue integrations share.

An integration's callback hands over what a protection found (or lets
:func:`check_sql` ask the SQL injection protection itself); this module
builds the attack event for the current request (attack type, the input's
source, name and value, and for SQL the matched span and the query with its
literals masked), reports it and, when the agent runs in block mode, stops
the request through :func:`sqreen._blocking.raise_blocked` (one event per
blocked request). In monitor mode the event is reported and the call goes
on. Outside a request nothing happens: no attacker input can be to blame.

Only ``RequestBlocked`` ever leaves these functions; any other error is
logged once, counted, and the sensitive call goes on.
"""
import importlib
import sys

import six

from sqreen import _log, _request
from sqreen.protections import _matching

_protections = {}


def _compiled_first_test():
    """``could_be_bent(text)`` (see ``sqreen/protections/_candidates.c``), or None where it was not built."""
    try:
        from sqreen.protections import _candidates
    except ImportError:
        return None
    _candidates.configure_request(vars(_request), _matching.MIN_LENGTH)
    return _candidates.could_be_bent


# False when no input of the current request occurs in a text: then no check need run (the common case).
_could_be_bent = _compiled_first_test()


def protection_module(name):
    """The module ``sqreen.protections.<name>``, imported on first use.

    Start-up loads no protection; a ``from ... import`` inside a hot
    callback would run the import system's Python code on every call.
    """
    module = _protections.get(name)
    if module is None:
        module = _protections[name] = importlib.import_module("sqreen.protections." + name)
    return module


#: The event's ``attack_type`` and ``rule`` for an SQL injection.
SQLI = "sqli"
SQLI_RULE = "sqli-structure"


def blocking():
    """True when the running agent is configured to block (False when it runs without a configuration)."""
    from sqreen import _runtime

    cfg = _runtime.config()
    return cfg is not None and cfg.mode == "block"


def _event(attack_type, request, rule, blocked, source, name, value, detail):
    """The attack event for ``request``, with its user when one identified it."""
    from sqreen import _events

    event = _events.attack_event(attack_type, request=request.event_dict(), rule=rule, blocked=blocked,
                                 source=source, name=name, value=value, detail=detail)
    users = sys.modules.get("sqreen._users")  # loaded once the SDK or an auth hook ran
    if users is not None:
        users.stamp(event, request)
    return event


def report(attack_type, source, name, value, rule=None, detail=None, request=None):
    """Report an attack on the current request; raise ``RequestBlocked`` in block mode.

    Returns the event reported (monitor mode), or None when there is no
    current request (then nothing is reported) or when building or reporting
    the event failed (logged once).
    """
    try:
        request = request if request is not None else _request.current()
        if request is None:
            return None
        block = blocking()
        event = _event(attack_type, request, rule, block, source, name, value, detail)
    except Exception:
        _log.log_once("attack_report:" + str(attack_type), "sqreen: cannot build the %s event; the call "
                      "goes on", attack_type, exc_info=True)
        return None
    if block:
        from sqreen import _blocking

        _blocking.raise_blocked(event)  # reports, then raises RequestBlocked
    try:
        from sqreen import _reporter

        _reporter.report(event)
    except Exception:
        _log.log_once("attack_report:report", "sqreen: cannot report an attack event", exc_info=True)
        return None
    return event


def protection(attack, request=None):
    """:func:`report` for an ``Attack`` of the shell, path or SSRF protections (``protections._attack``)."""
    source, name, value = attack.input
    detail = dict(attack.detail or {})
    if attack.reason:
        detail.setdefault("reason", attack.reason)
    return report(attack.attack_type, source, name, value, rule=attack.attack_type, detail=detail,
                  request=request)


def defused(attack, request=None):
    """Report an ``Attack`` the caller defuses itself (XSS: the input escaped in place); never raises.

    The event says ``blocked`` in block mode, where the caller then defuses
    the attack instead of stopping the request. Returns the event, or None
    outside a request or when building or reporting it failed (logged once).
    """
    try:
        request = request if request is not None else _request.current()
        if request is None:
            return None
        from sqreen import _reporter

        source, name, value = attack.input
        detail = dict(attack.detail or {}, reason=attack.reason)
        kind = attack.attack_type
        event = _event(kind, request, kind, blocking(), source, name, value, detail)
        _reporter.report(event)
    except Exception:
        _log.log_once("attack_report:defused", "sqreen: cannot report an attack event", exc_info=True)
        return None
    return event


def sql_injection(attack, query, driver=None, request=None):
    """:func:`report` for an SQL injection ``Attack`` found in ``query`` (the text the driver got).

    The event's input value is the part of ``query`` the input matched;
    ``detail`` carries the driver, the dialect, the matched ``span``
    (``[start, end]`` in ``query``) and the masked query.
    """
    try:
        text = query.decode("utf-8", "replace") if isinstance(query, bytes) and \
            not isinstance(query, six.text_type) else query
        value = text[attack.start:attack.end]
        detail = {"dialect": attack.dialect, "span": [attack.start, attack.end], "query": attack.query}
        if driver:
            detail["driver"] = driver
    except Exception:
        _log.log_once("attack_report:sqli", "sqreen: cannot describe an SQL injection; the query runs",
                      exc_info=True)
        return None
    return report(SQLI, attack.source, attack.name, value, rule=SQLI_RULE, detail=detail, request=request)


def check_sql(query, dialect, driver=None):
    """Check ``query`` (text or bytes) against the current request's inputs; report / block an injection.

    For an integration's pre callback: returns None when there is no current
    request, no input bent the query, or the query is not text (a driver's
    composed-SQL object: convert it first); otherwise the reported event
    (monitor mode) or raises ``RequestBlocked`` (block mode).
    """
    try:
        if _could_be_bent is not None and not _could_be_bent(query):
            return None
        request = _request.current()
        if request is None or not isinstance(query, (six.text_type, bytes)):
            return None
        inputs = request.inputs()
        if not inputs:
            return None
        sqli = _protections.get("_sql_injection") or protection_module("_sql_injection")
        attack = sqli.check(query, dialect, inputs)
    except Exception:
        _log.log_once("attack_report:check_sql", "sqreen: SQL injection check failed; the query runs",
                      exc_info=True)
        return None
    if attack is None:
        return None
    return sql_injection(attack, query, driver=driver, request=request)
