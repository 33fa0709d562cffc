"""The asyncio side of ``_ssrf_fetch`` (Python 3 only): fetches and hops that are coroutines.

A hooked coroutine method is replaced by a coroutine function (so
``inspect.iscoroutinefunction`` still holds) that runs the checks when it
is first awaited, in the task that awaits it, then awaits the original,
ending the fetch in a ``finally`` whatever stops it (a cancellation, a
block). The wrapping core's coroutine driver runs hook points' callbacks,
which have no such ``finally``; hence a wrapper of its own here, as the
aiohttp server integration has. The fetch is kept in a context variable,
so it follows the task; on 3.6 (no context variables) only the URL is
checked and nothing is kept.
"""
import functools

from sqreen import _context, _log, _request
from sqreen.instrumentation import RequestBlocked
from sqreen.integrations import _ssrf_fetch

_PER_TASK = _context.contextvars is not None


def install(owner, name, entry):
    """Replace the coroutine method ``owner.name`` by one that awaits ``entry.call``; return ``undo``."""
    original = vars(owner)[name]

    @functools.wraps(original)
    async def wrapper(self, *args, **kwargs):
        return await entry.call(original.__get__(self, type(self)), self, args, kwargs)

    wrapper.__sqreen_ssrf__ = True
    setattr(owner, name, wrapper)

    def undo():
        if vars(owner).get(name) is wrapper:
            setattr(owner, name, original)

    return undo


class AsyncEntry(_ssrf_fetch.Entry):
    """:class:`_ssrf_fetch.Entry` for a coroutine method: ``call`` returns an awaitable.

    ``top``: the method the application calls (its URL as given). Without
    context variables (3.6) nothing tells the layers below that a fetch
    is under way, so only such a method checks there: once per fetch.
    """

    coroutine = True

    def __init__(self, sink, url_of, hop=True, top=False):
        _ssrf_fetch.Entry.__init__(self, sink, url_of, hop)
        self.top = top

    def call(self, wrapped, instance, args, kwargs):
        url = self.url(instance, args, kwargs) if _PER_TASK or self.top else None
        if url is None:
            return wrapped(*args, **kwargs)
        return self.run(wrapped, args, kwargs, url)

    async def run(self, wrapped, args, kwargs, url):
        token = _ssrf_fetch.enter(url, self.sink, self.hop)
        if not _PER_TASK:
            _ssrf_fetch.leave(token)
            token = _ssrf_fetch.KEEP
        if token is not _ssrf_fetch.KEEP:
            token[0].deferred = True
        try:
            return await wrapped(*args, **kwargs)
        except Exception:
            blocked = token[0].blocked if token is not _ssrf_fetch.KEEP else None
            if blocked is not None:
                raise blocked
            raise
        finally:
            _ssrf_fetch.leave(token)


class Refused(OSError):
    """A connection refused by a block, on its way up to the fetch, which raises the ``RequestBlocked``.

    The client may resolve in a task of its own (aiohttp before 3.9), where
    a ``RequestBlocked`` would escape the event loop on Python 3.6 and 3.7.
    """


class AsyncResolved(object):
    """Stands in for a hook point on a resolver coroutine: the addresses it returns are judged.

    ``addresses_of(args, kwargs, result)`` is ``(host, [address, ...])``.
    """

    coroutine = True

    def __init__(self, sink, addresses_of):
        self.sink = sink
        self.addresses_of = addresses_of

    def call(self, wrapped, instance, args, kwargs):
        if not _PER_TASK or _request.current() is None:
            return wrapped(*args, **kwargs)
        return self.run(wrapped, args, kwargs)

    async def run(self, wrapped, args, kwargs):
        result = await wrapped(*args, **kwargs)
        try:
            host, addresses = self.addresses_of(args, kwargs, result)
        except Exception:
            _log.log_once("ssrf_fetch:resolved:" + self.sink, "sqreen: cannot read what the %s resolver "
                          "returned; it is not checked", self.sink, exc_info=True)
            return result
        fetch = _ssrf_fetch.current()
        try:
            _ssrf_fetch.connected(host, addresses)
        except RequestBlocked as blocked:
            if fetch is None or not fetch.deferred:
                raise
            fetch.blocked = blocked
            raise Refused("sqreen: connection to %s blocked" % (host,))
        return result
