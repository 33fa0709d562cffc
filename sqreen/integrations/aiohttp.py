"""aiohttp: the agent's request handling as the first middleware of every ``web.Application``.

``patch(aiohttp.web)`` makes each Application put :func:`sqreen_middleware`
at the head of its middlewares, when it is built and again when it freezes
(so an app built before ``sqreen.start()`` is covered too). An app frozen
before the patch gets the middleware in its prepared chain when it starts
serving (``_make_handler``); an app already serving then is out of reach.

The middleware builds the same request object as the WSGI middleware
(``sqreen._request.Request``) from a WSGI-shaped view of the aiohttp
request, sets the matched route (the resource's canonical path) and its
``match_info`` as path parameters, checks the IP lists, keeps the request
current while the handler runs (a context variable on 3.7+, which tasks the
handler spawns inherit) and turns a ``RequestBlocked`` into the 403 page.

The body: aiohttp reads it asynchronously, while the agent's protections
read inputs synchronously. So the middleware reads a form or JSON body up
front, only when it declares a ``Content-Length`` of at most
``_request.MAX_BODY_BYTES`` (and below the app's ``client_max_size``) with
no ``Content-Encoding``; aiohttp keeps what ``request.read()`` returned for
the app's own ``read()``/``post()``/``json()``, and the bytes are put back
into ``request.content`` for an app that streams them (``multipart()``
included), so the app sees the same body.

Python 3.6 has no context variables: there the request (and its time
budget) is set around each step of the handler only, so tasks it spawns do
not see it.
"""
import io
import sys
import warnings

from sqreen import _async_steps, _blocking, _log, _request, _runtime, wsgi
from sqreen.instrumentation import RequestBlocked, _budget, _hookpoint

_KEY = "sqreen.aiohttp"
_STEP_REQUEST = sys.version_info < (3, 7)  # no contextvars: the request is set per step
_BODY_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")
_RUNNING = _runtime.RUNNING
_state = _runtime._state


def patch(module):
    """Make every ``module.Application`` (``aiohttp.web``) run the agent's middleware first."""
    app_class = module.Application
    if getattr(app_class.__init__, "__sqreen_aiohttp__", False):
        return  # patched already (aiohttp.web reloaded)
    app_class.__init__ = _after(app_class.__init__)
    app_class.pre_freeze = _before(app_class.pre_freeze)
    app_class._make_handler = _serving(app_class._make_handler)


def _after(init):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        install(self)

    return _wrapper(__init__, init)


def _before(pre_freeze):
    def pre_freeze_(self):
        if not self.pre_frozen:  # a sub-application frozen before start() is served by its parent's
            install(self)
        return pre_freeze(self)

    return _wrapper(pre_freeze_, pre_freeze)


def _serving(make_handler):
    def _make_handler(self, *args, **kwargs):
        _install_frozen(self)
        return make_handler(self, *args, **kwargs)

    return _wrapper(_make_handler, make_handler)


def _wrapper(function, wrapped):
    for name in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(function, name, getattr(wrapped, name, None))
    function.__wrapped__ = wrapped
    function.__sqreen_aiohttp__ = True
    return function


def install(app):
    """Put the middleware first in ``app`` (and its response hook); never raises."""
    try:
        middlewares = app.middlewares
        if middlewares.frozen:  # too late here: _make_handler adds it when the app starts serving
            return
        if sqreen_middleware in middlewares:
            if middlewares[0] is sqreen_middleware:
                return
            middlewares.remove(sqreen_middleware)
        middlewares.insert(0, sqreen_middleware)
        signal = app.on_response_prepare
        if _on_response_prepare not in signal:
            signal.append(_on_response_prepare)
    except Exception:
        _log.log_once("aiohttp:install", "sqreen: cannot add the agent to an aiohttp application; it "
                      "is not protected", exc_info=True)


def _install_frozen(app):
    """An app about to serve, frozen before the patch: add the middleware to its prepared chain."""
    try:
        if sqreen_middleware in app.middlewares:
            return
        handlers = list(app._middlewares_handlers or ())
        # aiohttp's own current-app fixer closes the chain (it wraps last); ours goes just inside it
        handlers.insert(max(len(handlers) - 1, 0), (sqreen_middleware, True))
        app._middlewares_handlers = tuple(handlers)
        app._run_middlewares = True
    except Exception:
        _log.log_once("aiohttp:frozen", "sqreen: an aiohttp application frozen before sqreen.start() "
                      "is not protected", exc_info=True)


class _Served(object):
    """What the middleware knows of the aiohttp request it serves."""

    __slots__ = ("request", "prepared")

    def __init__(self, request):
        self.request = request
        self.prepared = False  # a response has started: a block can only cut the connection


async def sqreen_middleware(request, handler):
    """The agent's request handling (first in the chain)."""
    if _state["status"] != _RUNNING:
        return await handler(request)
    current = _request.current()
    if current is not None and _served(current, request) is not None:
        return await handler(request)  # an enclosing application's middleware serves it
    scope, blocked = None, None
    try:
        environ = await _environ(request)
        scope, blocked = wsgi._begin(environ, current)
        if scope is not None:
            _set_route(scope.request, request)
    except Exception:
        _log.log_once("aiohttp:begin", "sqreen: cannot set up an aiohttp request; serving it "
                      "unprotected", exc_info=True)
        if scope is not None:
            scope.end()
            scope = None
    if blocked is not None:
        return _forbidden(request, blocked)
    if scope is None:
        return await handler(request)
    served = scope.request.environ[_KEY]
    try:
        if _STEP_REQUEST or scope.request.allowlisted:
            return await _stepped(handler(request), scope)
        return await handler(request)
    except RequestBlocked as exc:
        event_id = _blocking.event_id_of(exc)
        if served.prepared:
            _cut(request)
            raise wsgi.ResponseInterrupted("sqreen blocked the request after the response started "
                                           "(event %s)" % event_id) from None
        return _forbidden(request, event_id)
    finally:
        scope.end()


sqreen_middleware.__middleware_version__ = 1  # a "new style" middleware, as @web.middleware marks it


def _served(request, aiohttp_request):
    served = request.environ.get(_KEY)
    return served if served is not None and served.request is aiohttp_request else None


async def _on_response_prepare(request, response):
    """Note that the response of the request being served has started."""
    current = _request.current()
    served = _served(current, request) if current is not None else None
    if served is not None:
        served.prepared = True


def _stepped(awaitable, scope):
    """``awaitable`` run with the request current (3.6) and agent code flagged (allowlist) per step."""
    request = scope.request
    budget = _budget.current() if _STEP_REQUEST else None
    flag = request.allowlisted
    if _STEP_REQUEST:  # outside the handler's own steps, other tasks run on this thread
        _request.activate(scope.previous)
        _budget._set(None)

    def enter():
        state = _hookpoint.thread_state()
        token = (_request.current(), _budget.current(), state.busy)
        if _STEP_REQUEST:
            _request.activate(request)
            _budget._set(budget)
        if flag:
            state.busy = True
        return token

    def leave(token):
        if _STEP_REQUEST:
            _request.activate(token[0])
            _budget._set(token[1])
        if flag:
            _hookpoint.thread_state().busy = token[2]

    return _async_steps.stepped(awaitable.__await__(), enter, leave)


def _wsgi_string(text):
    """aiohttp's header text (UTF-8, surrogate-escaped) as a WSGI string (Latin-1 code points)."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("latin-1")
    except UnicodeError:
        return text


async def _environ(request):
    """A WSGI environ for ``sqreen._request.Request``, with the body when it is cheap to have."""
    from urllib.parse import unquote_to_bytes

    url = request.rel_url
    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(url.raw_path).decode("latin-1"),
        "QUERY_STRING": url.raw_query_string,
        "REMOTE_ADDR": request.remote or "",
        "wsgi.url_scheme": request.scheme,
        _KEY: _Served(request),
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = _wsgi_string(value)
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ", ") + value
        environ[key] = value
    body = await _small_body(request)
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
    return environ


async def _small_body(request):
    """The body, when it is small, declared, plain and of a kind the agent parses; else None."""
    length = request.content_length
    if not length or length > _request.MAX_BODY_BYTES or "Content-Encoding" in request.headers:
        return None
    limit = getattr(request, "_client_max_size", 0)
    if limit and length >= limit:  # the app's own read() would refuse it: leave that to the app
        return None
    kind = request.content_type
    if kind not in _BODY_TYPES and not (kind.startswith("application/") and kind.endswith("+json")):
        return None
    stream = request.content
    unread = getattr(stream, "unread_data", None)
    if unread is None:
        return None
    body = await request.read()  # aiohttp keeps it: the app's read()/post()/json() get the same bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        unread(body)  # and an app that streams request.content reads them too
    return body


def _set_route(request, aiohttp_request):
    match_info = aiohttp_request.match_info
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    canonical = getattr(resource, "canonical", None)
    if canonical is not None or match_info:
        request.set_route(canonical, match_info)


def _forbidden(request, event_id):
    from aiohttp import web

    status, headers, body = _blocking.response(event_id, request.headers.get("Accept"))
    headers = dict((name, value) for name, value in headers if name != "Content-Length")
    return web.Response(status=int(status.split()[0]), body=body, headers=headers)


def _cut(request):
    """Close the connection of a request whose response had started (the client sees it cut short)."""
    try:
        transport = request.transport
        if transport is not None:
            transport.close()
    except Exception:
        _log.log_once("aiohttp:cut", "sqreen: cannot close a blocked aiohttp connection", exc_info=True)
