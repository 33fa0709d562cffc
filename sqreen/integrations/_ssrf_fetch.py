"""SSRF at the HTTP clients: one fetch, its hops and its connections, judged against the request's inputs.

A *fetch* is one call the application makes to an HTTP client
(``urlopen``, ``requests.get``, ``PoolManager.request``,
``httpx.Client.get``, ``aiohttp.ClientSession.get``, a bare
``http.client`` connection...). Where it starts, the URL as the
application gave it is checked (``protections._ssrf.check_url``): an
attack is reported and, in block mode, the call stops before anything
connects. What the client does inside the fetch (the layers below it:
requests on urllib3, urllib on http.client; redirects, which re-enter the
client) belongs to the same fetch and never starts one of its own, so one
attack makes one event.

A fetch whose scheme, host or port an input spelled, to a place judged
public, is watched to its end:

* every hop's host (a redirect's target, or the host of a connection the
  client takes from its pool) is judged before the client goes there: a
  public page redirecting to an internal address is an attack;
* where the client lets us see it, the address it actually connected to
  (http.client and urllib3: the socket's peer, before a byte of the
  request is sent, the socket closed in block mode) or is about to connect
  to (aiohttp: the addresses its resolver returned) is judged too. That is
  what catches DNS rebinding, a name whose answer changed between the
  check's look-up and the client's own. httpx connects inside httpcore,
  out of reach: there a rebinding between the two look-ups is not caught,
  and neither is one against a connection taken from a pool.

Connections to a host the fetch did not aim at (a configured proxy) are
not judged by their address. Only the first attack of a fetch is
reported. On Python 2.7 and 3.6 the fetch is kept per thread, so for the
asyncio clients only the URL check is reliable there.

``NETWORK`` holds the resolver the checks use (``socket.getaddrinfo``
when None) and the view of a connected peer's address (identity); the
tests swap them for a stub network on loopback.
"""
import socket

import six

from sqreen import _attack_report, _context, _log, _request
from sqreen.instrumentation import _wrappers
from sqreen.protections import _ipaddr, _ssrf
from sqreen.protections._attack import Attack

#: ``resolve(host, port)`` for the checks, and ``peer(address)``: the address judged for a connected peer.
NETWORK = {"resolve": None, "peer": None}

current, _set = _context.slot("ssrf_fetch")
#: What :func:`enter` returns when there is nothing to undo.
KEEP = object()


class Fetch(object):
    """One fetch of the current request: its sink, the steering input, the hosts it aims at."""

    __slots__ = ("request", "sink", "url", "steer", "hosts", "done", "deferred", "blocked")

    def __init__(self, request, sink):
        self.request = request
        self.sink = sink
        self.url = None
        self.steer = None  # the (source, name, value) that decided where the fetch goes
        self.hosts = None  # the host names it aims at (a set once steered)
        self.done = False  # an attack was reported: nothing more for this fetch
        self.deferred = False  # a coroutine runs it: a block found deeper is raised there (``blocked``)
        self.blocked = None


def _resolve(host, port):
    resolve = NETWORK["resolve"] or socket.getaddrinfo
    return resolve(host, port)


def hop_url(scheme, host, port):
    """``scheme://host:port/`` for a layer that knows the place, not the URL."""
    host = host or ""
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s://%s:%s/" % (scheme, host, port) if port else "%s://%s/" % (scheme, host)


def enter(url, sink, hop=True):
    """Start a fetch of ``url`` or, inside one, judge a hop to it (``hop``); return what :func:`leave` takes.

    Raises ``RequestBlocked`` when the agent blocks; any other error is
    logged once and the call goes on.
    """
    request = _request.current()
    if request is None:
        return KEEP
    previous = current()
    if previous is not None and previous.request is request:
        if hop and previous.steer is not None and not previous.done:
            _judge_hop(previous, url)
        return KEEP
    fetch = Fetch(request, sink)
    _set(fetch)
    try:
        _start(fetch, url)
    except BaseException:
        _set(previous)
        raise
    return fetch, previous


def leave(token):
    """End what :func:`enter` started.

    Only when that fetch is still the current one: a coroutine closed by
    the garbage collector runs its ``finally`` in whatever context is
    current then, another fetch's maybe, which must stay.
    """
    if token is not KEEP and current() is token[0]:
        _set(token[1])


def _start(fetch, url):
    try:
        inputs = fetch.request.inputs()
        steer = _ssrf.steering_input(url, inputs)
        if steer is None:
            return
        attack = _ssrf.check_url(url, inputs, resolve=_resolve)
        if attack is None:
            fetch.steer, fetch.url, fetch.hosts = steer, _ssrf._url_text(url), set()
            for target in _ssrf.targets(url):
                fetch.hosts.update(_ssrf.host_forms(target.host))
            return
    except Exception:
        _log.log_once("ssrf_fetch:start", "sqreen: SSRF check of an outgoing request failed; it goes on",
                      exc_info=True)
        return
    _report(fetch, attack)


def _judge_hop(fetch, url):
    try:
        found = None
        for target in _ssrf.targets(url):
            forms = _ssrf.host_forms(target.host)
            if not forms or fetch.hosts.issuperset(forms):
                continue
            fetch.hosts.update(forms)
            found = _ssrf.internal_address(target.host, target.port, _resolve)
            if found is not None:
                break
        if found is None:
            return
        attack = _attack(fetch, "redirect to internal address (%s)" % found[0], found[1],
                         {"redirect": _ssrf._url_text(url)})
    except Exception:
        _log.log_once("ssrf_fetch:hop", "sqreen: SSRF check of a redirect failed; it goes on", exc_info=True)
        return
    _report(fetch, attack)


def connected(host, addresses, close=None):
    """The client connected (or is about to) to ``addresses`` for ``host``: judge them for a steered fetch.

    ``close()`` is called before ``RequestBlocked`` leaves, so the
    connection is not used.
    """
    fetch = current()
    if fetch is None or fetch.steer is None or fetch.done or fetch.request is not _request.current():
        return
    try:
        if not fetch.hosts.intersection(_ssrf.host_forms(_ssrf._url_text(host or u""))):
            return  # a proxy, or a host some other code aims at
        peer = NETWORK["peer"]
        found = None
        for address in addresses:
            if not address:
                continue
            literal = _ipaddr.classify_literal(peer(address) if peer else address)
            if literal is not None and literal[0] is not None:
                found = literal
                break
        if found is None:
            return
        attack = _attack(fetch, "connected to internal address (%s)" % found[0], found[1],
                         {"connected_host": host})
    except Exception:
        _log.log_once("ssrf_fetch:connected", "sqreen: SSRF check of a connection failed; it goes on",
                      exc_info=True)
        return
    try:
        _report(fetch, attack)
    except BaseException:
        if close is not None:
            try:
                close()
            except Exception:
                pass
        raise


def peer_address(sock):
    """The address a connected socket talks to, or None."""
    try:
        peer = sock.getpeername()
    except (AttributeError, socket.error):
        return None
    return peer[0] if isinstance(peer, tuple) and peer else None


def argument(position, keyword, attribute=None):
    """A ``url_of`` that reads the call's argument ``position`` (or ``keyword``), or its ``attribute``.

    A URL object (httpx's, yarl's) is taken as its text.
    """
    def url_of(instance, args, kwargs):
        value = args[position] if len(args) > position else kwargs.get(keyword)
        if attribute is not None:
            value = getattr(value, attribute, None)
        if value is None or isinstance(value, (six.text_type, bytes)):
            return value
        return str(value)

    return url_of


def _attack(fetch, reason, address, detail):
    detail = dict(detail, url=fetch.url, address=address)
    return Attack(_ssrf.ATTACK_TYPE, fetch.steer, reason, detail)


def _report(fetch, attack):
    fetch.done = True
    detail = dict(attack.detail or {}, sink=fetch.sink)
    _attack_report.protection(attack._replace(detail=detail), request=fetch.request)


class Entry(object):
    """Stands in for a hook point (``_wrappers.install``): the call runs as a fetch of ``url_of``'s URL.

    ``url_of(instance, args, kwargs)`` is the URL the call fetches (None:
    not a fetch, the call goes straight through); ``hop`` says whether,
    inside a fetch, the URL is a hop to judge (a layer that sees the
    target's URL) or not (a layer below a proxy).
    """

    active = True

    def __init__(self, sink, url_of, hop=True):
        self.sink = sink
        self.url_of = url_of
        self.hop = hop

    def url(self, instance, args, kwargs):
        """The URL to check for this call, or None: outside a request, or when it cannot be read."""
        if _request.current() is None:
            return None
        try:
            return self.url_of(instance, args, kwargs)
        except Exception:
            _log.log_once("ssrf_fetch:url:" + self.sink, "sqreen: cannot read the URL of a %s call; it is "
                          "not checked", self.sink, exc_info=True)
            return None

    def call(self, wrapped, instance, args, kwargs):
        url = self.url(instance, args, kwargs)
        if url is None:
            return wrapped(*args, **kwargs)
        token = enter(url, self.sink, self.hop)
        try:
            return wrapped(*args, **kwargs)
        finally:
            leave(token)


class Connection(Entry):
    """An :class:`Entry` for a connection's ``connect``: after it, the socket's peer is judged.

    ``socket_of(instance, result)`` is the connected socket.
    """

    def __init__(self, sink, url_of, socket_of):
        Entry.__init__(self, sink, url_of, hop=False)
        self.socket_of = socket_of

    def call(self, wrapped, instance, args, kwargs):
        if _request.current() is None:
            return wrapped(*args, **kwargs)
        url = self.url(instance, args, kwargs)
        token = enter(url, self.sink, False) if url is not None else KEEP
        try:
            result = wrapped(*args, **kwargs)
            self.judge(instance, result)
            return result
        finally:
            leave(token)

    def judge(self, instance, result):
        fetch = current()
        if fetch is None or fetch.steer is None or fetch.done:
            return  # no input steers a fetch: nothing to judge (and no system call to make)
        try:
            sock = self.socket_of(instance, result)
            host = getattr(instance, "host", None)
        except Exception:
            _log.log_once("ssrf_fetch:socket:" + self.sink, "sqreen: cannot see where a %s connection "
                          "goes; it is not checked", self.sink, exc_info=True)
            return
        if sock is not None:
            connected(host, [peer_address(sock)], close=sock.close)


def install(owner, name, entry, undo_list):
    """``_wrappers.install`` of ``entry`` on ``owner.name``; a failure is logged once, the sink left open."""
    try:
        if getattr(entry, "coroutine", False):
            from sqreen.integrations import _ssrf_fetch_async

            undo_list.append(_ssrf_fetch_async.install(owner, name, entry))
        else:
            undo_list.append(_wrappers.install(owner, name, entry))
    except Exception:
        _log.log_once("integration:ssrf:%s.%s" % (getattr(owner, "__name__", "?"), name),
                      "sqreen: cannot hook %s.%s; its requests are not checked for SSRF",
                      getattr(owner, "__name__", "?"), name, exc_info=True)


def integration(hooks):
    """``(patch, unpatch)`` for a client whose ``hooks(module)`` lists its ``(owner, name, entry)``.

    ``patch(module)`` installs them once per module object (a hook that
    cannot be installed is logged once, the others go in); ``unpatch()``
    takes them all away.
    """
    state = {"undo": [], "patched": []}

    def patch(module):
        if any(done is module for done in state["patched"]):
            return
        for owner, name, entry in hooks(module):
            install(owner, name, entry, state["undo"])
        state["patched"].append(module)

    def unpatch():
        while state["undo"]:
            state["undo"].pop()()
        del state["patched"][:]

    return patch, unpatch
