"""Protect any WSGI application: ``app = sqreen.wsgi.middleware(app)``.

The middleware gives every request a request object (see
``sqreen._request.Request``), reachable from anywhere in the request's
thread or task with :func:`current_request`, and takes care of what
happens at the edges of a request:

* at the start, the client IP is checked against ``ip_allowlist`` (the
  request then runs with every protection off) and ``ip_blocklist`` (an
  attack event; in ``block`` mode a 403 page instead of the app), and the
  per-request time budget (``performance_budget_ms``) is opened once some
  callback is interruptible (until then it would skip nothing);
* when a protection raises ``RequestBlocked`` anywhere in the app, the
  client gets a 403 page (HTML, or JSON when ``Accept`` prefers it) with
  the id of the event the protection reported, in place of the app's own
  status and headers, whatever the app had passed to ``start_response``;
* at the end -- after the last chunk of a streamed response, when the
  server closes the response (client gone included) or when the app raises
  -- the request is forgotten and the budget closed; the ``close()`` of
  the app's iterable is called exactly once.

Once the first chunk of a streamed response has gone out, a block can no
longer change the status: the middleware then raises
``ResponseInterrupted`` to the server, which cuts the connection (see
docs/blocking.md).

Wrapping twice is wrapping once. While the agent is not running the
middleware calls the app straight away, and so does an inner middleware
for a request an outer one already serves.
"""
import sys

from sqreen import _blocking, _clientip, _log, _request, _runtime
from sqreen._blocking import ResponseInterrupted
from sqreen._request import current as current_request
from sqreen.instrumentation import RequestBlocked, agent_code, budget

__all__ = ["middleware", "serve", "current_request", "ResponseInterrupted"]

_RUNNING = _runtime.RUNNING
_state = _runtime._state


def middleware(app):
    """``app`` wrapped by the agent's request handling (``app`` itself if it is already wrapped)."""
    if getattr(app, "__sqreen_wsgi__", False):
        return app

    def sqreen_wsgi(environ, start_response):
        return serve(app, environ, start_response)

    sqreen_wsgi.__sqreen_wsgi__ = True
    sqreen_wsgi.__wrapped__ = app
    return sqreen_wsgi


def _py_serve(app, environ, start_response, route_reader=None):
    """Call the WSGI ``app`` under the agent's request handling: what :func:`middleware` does per request.

    For integrations that wrap a framework's entry method and so have a new
    ``app`` (bound to the framework's instance) on every request;
    ``route_reader``: the framework's, for the request (see ``Request.route_reader``).
    (``serve``: this, or its compiled version where it was built.)
    """
    # The runtime's state read directly: status() would also check for a fork (a system call).
    if _state["status"] != _RUNNING:
        return app(environ, start_response)
    current = current_request()
    if current is not None and current.environ is environ:
        if route_reader is not None and current._route is None:
            current.route_reader = route_reader
        return app(environ, start_response)  # an outer middleware serves this request
    scope, blocked = _begin(environ, current, _Response, route_reader)
    if blocked is not None:
        return _respond_blocked(environ, _Start(start_response), blocked, None)
    if scope is None:
        return app(environ, start_response)
    scope.server = start_response  # the scope is the start_response the app gets (see _Start)
    try:
        if scope.request.allowlisted:
            with agent_code():
                result = app(environ, scope)
        else:
            result = app(environ, scope)
    except RequestBlocked:
        return _blocked_response(scope, environ, *sys.exc_info())
    except BaseException:
        scope.end()
        raise
    if type(result) in (list, tuple):  # nothing left to run: the request is over
        scope.end()
        scope.flush()
        return result
    file_wrapper = environ.get("wsgi.file_wrapper")
    if file_wrapper is not None and isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
        scope.end()  # a file sent as is; keep the server's fast path
        scope.flush()
        return result
    scope.result = result
    return scope


def _blocked_response(scope, environ, exc_type, exc_value, exc_tb):
    """The 403 response for a block (``exc_value``) raised by the app of ``scope``'s request; ends it."""
    scope.end()
    exc_info = (exc_type, exc_value, exc_tb)
    try:
        return _respond_blocked(environ, scope, _blocking.event_id_of(exc_value), exc_info)
    finally:
        del exc_info


def _end(scope):
    """End the request of ``scope`` (once): close its budget, make the request before it current again."""
    if scope.ended:
        return
    scope.ended = True
    try:
        if scope.budget:
            budget.stop()
        _request.activate(scope.previous)
    except Exception:
        _log.log_once("wsgi:end", "sqreen: cannot close the request context", exc_info=True)


class _Scope(object):
    """What the end of a request must undo: the current request, the budget."""

    __slots__ = ("request", "previous", "budget", "ended")

    def __init__(self, request, previous, budget_opened):
        self.request = request
        self.previous = previous
        self.budget = budget_opened
        self.ended = False

    end = _end


class _Start(object):
    """The ``start_response`` the app gets: holds its status and headers until the body starts.

    So a request blocked before its first chunk reaches the server as one
    clean 403, never mixed with the headers the app had set (some servers
    append the headers of a second ``start_response`` call to the first's).
    """

    __slots__ = ("server", "pending", "started", "server_write")

    def __init__(self, server):
        self.server = server
        self.pending = None
        self.started = False
        self.server_write = None

    def __call__(self, status, headers, exc_info=None):
        if self.started:  # the server has them: it decides (it raises if the headers are out)
            return self.server(status, headers, exc_info)
        if self.pending is not None and exc_info is None:
            raise AssertionError("start_response called a second time without exc_info")
        self.pending = (status, headers)
        return self.write

    def flush(self):
        """Hand the app's status and headers to the server (once)."""
        if not self.started and self.pending is not None:
            self.started = True
            self.server_write = self.server(*self.pending)

    def write(self, data):
        self.flush()
        return self.server_write(data)


class _Settings(object):
    """The configuration values a request needs, read once per configuration object."""

    __slots__ = ("config", "ip_header", "trusted", "allowlist", "blocklist", "budget_ms", "block", "fast")

    def __init__(self, cfg):
        self.config = cfg
        self.ip_header = cfg.ip_header
        self.trusted = cfg.trusted_proxies
        self.allowlist = cfg.ip_allowlist
        self.blocklist = cfg.ip_blocklist
        self.budget_ms = cfg.performance_budget_ms
        self.block = cfg.mode == "block"
        # What the compiled serve() needs for a request it serves itself (None: no IP list to check).
        lists = self.allowlist or self.blocklist
        self.fast = None if lists else (self.ip_header, self.trusted, self.budget_ms)


_settings = [None]


def _begin(environ, previous, scope_class=_Scope, route_reader=None):
    """``(scope, None)`` for a request to serve, ``(None, event id)`` to block, ``(None, None)`` on error.

    ``previous``: the request current before this one (the caller has read it); ``scope_class``:
    the ``_Scope`` (sub)class to return; ``route_reader``: see ``Request.route_reader``.
    """
    try:
        cfg = _state["config"]  # _runtime.config() inlined: once per request
        settings = _settings[0]
        if settings is None or settings.config is not cfg:
            settings = _settings[0] = _Settings(cfg)
        request = _request.Request(environ, settings.ip_header, settings.trusted)
        request.route_reader = route_reader
        if settings.allowlist or settings.blocklist:
            event_id = _check_ip(request, settings)
            if event_id is not None:
                return None, event_id
        _request.activate(request)
        # A budget only serves to skip interruptible callbacks: none registered, none opened.
        opened = bool(settings.budget_ms) and budget.wanted[0] and not request.allowlisted
        if opened:
            budget.start(settings.budget_ms)
        return scope_class(request, previous, opened), None
    except Exception:
        _log.log_once("wsgi:begin", "sqreen: cannot set up the request; serving it unprotected",
                      exc_info=True)
        return None, None


def _check_ip(request, settings):
    """Mark an allowlisted request; report a blocklisted one; return the event id to block with."""
    text = request.client_ip
    ip = _clientip.parse_ip(text) if text else None
    if ip is None:
        return None
    if settings.allowlist and _clientip.in_networks(ip, settings.allowlist):
        request.allowlisted = True
        return None
    if not (settings.blocklist and _clientip.in_networks(ip, settings.blocklist)):
        return None
    from sqreen import _events, _reporter

    event = _events.attack_event("blocked_ip", request=request.event_dict(), rule="ip_blocklist",
                                 blocked=settings.block, source="client_ip", name="client_ip", value=text)
    _reporter.report(event)
    return event["event_id"] if settings.block else None


def _respond_blocked(environ, start, event_id, exc_info):
    """The 403 response, through ``start`` (a ``_Start``); ``exc_info`` is the block being handled."""
    status, headers, body = _blocking.response(event_id, environ.get("HTTP_ACCEPT"))
    if not start.started:
        start.started = True
        start.server(status, headers)
        return [body]
    try:
        start.server(status, headers, exc_info)
    except BaseException:  # the server re-raises exc_info: its headers are out already
        raise ResponseInterrupted("sqreen blocked the request after the response started (event %s)"
                                  % event_id)
    return [body]


class _PyResponse(_Start):
    """A WSGI request's scope (see ``_Scope``), the ``start_response`` its app gets (see ``_Start``), and
    the app's response iterable with the request kept current until its last chunk is out.

    The request ends when the iteration is over (after the server wrote the
    last chunk) or when the server closes the response, whichever comes
    first: the app's ``close()`` runs then, once, with its request still
    current. One object for all three: a request makes one. The compiled
    ``sqreen._wsgi_response.Response`` does the same (see ``_Response``).
    """

    __slots__ = ("request", "previous", "budget", "ended", "result", "iterator", "finished")

    def __init__(self, request, previous, budget_opened):
        self.request = request
        self.previous = previous
        self.budget = budget_opened
        self.ended = False
        self.pending = None  # _Start's fields but ``server``, set by serve() (one call less per request)
        self.started = False
        self.server_write = None
        self.iterator = None
        self.finished = False

    end = _end

    def __iter__(self):
        self.iterator = _guarded_chunks(self) if self.request.allowlisted else self._chunks()
        return self.iterator

    def _chunks(self):
        sent = False
        try:
            for chunk in self.result:
                if not sent:
                    sent = bool(chunk)
                    if not self.started and self.pending is not None:  # flush() inlined
                        self.started = True
                        self.server_write = self.server(*self.pending)
                yield chunk
        except RequestBlocked:
            yield _blocked_chunk(self, sent, *sys.exc_info())
        if not self.started:
            self.flush()
        self._finish()

    def close(self):
        if self.finished:  # the common case: the server closes a response it has iterated to the end
            return
        if self.iterator is not None:
            self.iterator.close()
        self._finish()

    def _finish(self):
        """Close the app's iterable and end the request, once."""
        if self.finished:
            return
        self.finished = True
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        except RequestBlocked:
            _log.log_once("wsgi:blocked-in-close", "sqreen: a request was blocked while its response "
                          "was being closed; nothing more to stop", exc_info=True)
        finally:
            self.end()


def _guarded_chunks(response):
    """The chunks of an allowlisted request's response: the app's code runs as the agent's own (no
    callback)."""
    sent = False
    try:
        with agent_code():
            iterator = iter(response.result)
        while True:
            with agent_code():
                chunk = next(iterator, _DONE)
            if chunk is _DONE:
                break
            if not sent:
                sent = bool(chunk)
                response.flush()
            yield chunk
    except RequestBlocked:
        yield _blocked_chunk(response, sent, *sys.exc_info())
    response.flush()
    response._finish()


def _blocked_chunk(response, sent, exc_type, exc_value, exc_tb):
    """The 403 body for a block (``exc_value``) raised while iterating, when nothing non-empty was sent."""
    event_id = _blocking.event_id_of(exc_value)
    if sent:
        raise ResponseInterrupted("sqreen blocked the request after the response started (event %s)"
                                  % event_id)
    exc_info = (exc_type, exc_value, exc_tb)
    try:
        return _respond_blocked(response.request.environ, response, event_id, exc_info)[0]
    finally:
        del exc_info


def _report_error(key, exc_type, exc_value, exc_tb):
    """For the compiled response: an error of the agent's, logged once and counted."""
    messages = {"wsgi:begin": "sqreen: cannot set up the request; serving it unprotected",
                "wsgi:end": "sqreen: cannot close the request context",
                "wsgi:blocked-in-close": "sqreen: a request was blocked while its response was being "
                                         "closed; nothing more to stop"}
    _log.log_once(key, messages.get(key, "sqreen: error in the response object"),
                  exc_info=(exc_type, exc_value, exc_tb))


def _compiled():
    """``sqreen._wsgi_response`` ready to use, or None where it was not built (no C compiler)."""
    try:
        from sqreen import _wsgi_response
    except ImportError:
        return None
    _wsgi_response.configure(vars(_request), vars(budget), _state, _RUNNING, _settings, _report_error,
                             _blocked_chunk, _guarded_chunks, _blocked_response, _py_serve, RequestBlocked)
    return _wsgi_response


_compiled_module = _compiled()
#: The response object ``serve`` makes for each request (the compiled one where it was built), and
#: ``serve`` itself: the compiled one serves the common request and leaves any other to ``_py_serve``.
_Response = _compiled_module.Response if _compiled_module is not None else _PyResponse
serve = _compiled_module.serve if _compiled_module is not None else _py_serve

_DONE = object()
