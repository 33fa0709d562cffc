"""Login attempts and identified users: the events, the account-takeover counters, the 403s.

Shared by the SDK (``sqreen.auth_track``, ``sqreen.identify``) and the
Django integration (``authenticate``). For a login attempt:

1. :func:`refuse_flagged_ip` first: in block mode, an IP the account-takeover
   guard flagged (``sqreen._ato``) is refused -- one ``account_takeover``
   attack event (rule ``ato-blocked-ip``) and ``RequestBlocked``, which the
   request layer turns into the 403 page -- before the application checks
   the password;
2. :func:`record` then reports one ``auth`` event; a failure counts for the
   IP and the identifiers, and the failure that crosses a threshold reports
   one ``account_takeover`` event saying why (rule ``ato-ip-failures`` or
   ``ato-user-failures``; ``detail.ip_blocked`` tells whether the IP is now
   refused); a success ties the request to the user (:func:`identify`).

:func:`identify` refuses a request whose user is blocked (``user_blocklist``
or ``sqreen.block_user``): a ``blocked_user`` attack event, and the 403 in
block mode. Requests from an allowlisted IP record events but are never
counted nor refused. Outside a request events carry no request and nothing
is counted or refused.
"""
import threading

from sqreen import _ato, _attack_report, _events, _reporter, _request, _runtime, _users

ATO = "account_takeover"
BLOCKED_USER = "blocked_user"
BLOCKED_USER_RULE = "user_blocklist"

_guards = [None, None]  # [config, its Guard]
_guards_lock = threading.Lock()


def guard():
    """The account-takeover guard of the running configuration (None when the agent has none)."""
    cfg = _runtime.config()
    if cfg is None:
        return None
    with _guards_lock:  # one guard per configuration, even when two threads meet a new one
        if _guards[0] is not cfg:
            _guards[1] = _ato.Guard.from_config(cfg)
            _guards[0] = cfg
        return _guards[1]


def use_guard(cfg, new_guard):
    """Make ``new_guard`` the guard of ``cfg`` (tests inject a clock or a store this way)."""
    with _guards_lock:
        _guards[0], _guards[1] = cfg, new_guard


def _protected(request):
    return request is not None and not request.allowlisted


def refuse_flagged_ip(request):
    """Raise ``RequestBlocked`` (with its event) when block mode is on and ``request``'s IP is flagged."""
    if not (_protected(request) and _attack_report.blocking()):
        return
    ato = guard()
    ip = request.client_ip
    until = ato.blocked_until(ip) if ato is not None else None
    if until is not None:
        _attack_report.report(ATO, "client_ip", "client_ip", ip, rule=_ato.RULE_BLOCKED,
                              detail={"until": _events.utc_timestamp(until)}, request=request)


def record(success, identifiers, request, reason=None):
    """Report the attempt; count a failure (maybe flagging the IP); identify the user of a success."""
    event = _events.auth_event(success, user=identifiers, request=request.event_dict() if request else None,
                               reason=reason)
    _reporter.report(event)
    if success:
        identify(identifiers, request)
    elif _protected(request):
        _count_failure(identifiers, request)


def _count_failure(identifiers, request):
    ato = guard()
    if ato is None:
        return
    ip = request.client_ip
    flag = ato.failure(ip, _users.counter_key(identifiers))
    if flag is None:
        return
    now = ato.clock()
    detail = flag.detail(now)
    detail["ip_blocked"] = _attack_report.blocking()
    detail["until"] = _events.utc_timestamp(flag.until)
    event = _events.attack_event(ATO, request=request.event_dict(), rule=flag.rule, blocked=False,
                                 source="client_ip", name="client_ip", value=ip, detail=detail)
    _users.stamp(event, request)
    _reporter.report(event)


def identify(identifiers, request):
    """Tie ``request`` to the user; refuse it (event, 403 in block mode) when the user is blocked."""
    if request is None or not identifiers:
        return
    _users.set_user(request, identifiers)
    if not _protected(request):
        return
    cfg = _runtime.config()
    entry = _users.blocked_entry(identifiers, cfg.user_blocklist if cfg is not None else ())
    if entry is not None:
        key, value = sorted(entry)[0]
        _attack_report.report(BLOCKED_USER, "user", key, value, rule=BLOCKED_USER_RULE, request=request)


def current_request():
    return _request.current()
