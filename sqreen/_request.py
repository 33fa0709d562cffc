"""The request being served: one object per request, read lazily, and where it is kept.

A :class:`Request` holds the WSGI environ and decodes a part of it only
when something asks for that part, so a request that never reaches a
sensitive call costs one small object. Inputs are decoded the way the
frameworks decode them (UTF-8 with replacement for the path, the query,
form fields and names, JSON parsed from a UTF-8 body).

The body is read only when an input from it is asked for, and only when the
request declares a ``Content-Length`` of at most :data:`MAX_BODY_BYTES`
(a chunked body without a length is never read by the agent); the
application still reads exactly the same bytes (see ``_request_body``).
What the application reads of such a body is kept until the request ends,
so a request costs up to that much memory again.

The current request lives in a context variable on Python 3.7+ (each
thread and each asyncio task sees its own) and in a thread-local before.
"""
import uuid

from sqreen import _clientip, _context
from sqreen._request_body import InputTee
from sqreen._request_parse import (flatten, group, header_params, parse_cookies, parse_multipart,
                                   parse_urlencoded, wsgi_bytes, wsgi_text)

#: The largest body the agent reads (and keeps a copy of) to inspect it.
MAX_BODY_BYTES = 1024 * 1024
#: Bound on :meth:`Request.inputs`, so an attacker-shaped body cannot make the agent spin.
MAX_INPUTS = 4096

#: ``current()`` is the request being served (None outside one); ``activate(request)`` sets it.
current, activate = _context.slot("request")


def deactivate():
    """Forget the current request."""
    activate(None)


def current_inputs():
    """The current request's input strings (see :meth:`Request.inputs`), or ``()`` outside a request."""
    request = current()
    return () if request is None else request.inputs()


_UNSET = object()
#: WSGI environ key -> header name ("HTTP_USER_AGENT" -> "user-agent"; "" for keys that are no header),
#: filled as keys are met; bounded, since clients choose header names.
_HEADER_NAMES = {}
_MAX_HEADER_NAMES = 1024


def _header_name(key):
    if key[:5] == "HTTP_":
        name = key[5:].replace("_", "-").lower()
    elif key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
        name = key.replace("_", "-").lower()
    else:
        name = ""
    if len(_HEADER_NAMES) < _MAX_HEADER_NAMES:
        _HEADER_NAMES[key] = name
    return name


#: The keys of an environ, in order -> ``(pairs, input pairs)``: ``((key, header name), ...)`` of its
#: header keys, in the environ's order and, for the inputs, sorted by name without ``Cookie``. A
#: server builds every environ the same way, so a few layouts (one per set of headers clients send)
#: come back request after request; bounded, since clients choose their headers.
_HEADER_KEYS = {}
_MAX_HEADER_LAYOUTS = 256


def _header_keys(layout):
    names = _HEADER_NAMES
    pairs = []
    for key in layout:
        name = names.get(key)
        if name is None:
            name = _header_name(key)
        if name:
            pairs.append((key, name))
    found = (tuple(pairs), tuple(sorted([pair for pair in pairs if pair[1] != "cookie"],
                                        key=lambda pair: pair[1])))
    if len(_HEADER_KEYS) >= _MAX_HEADER_LAYOUTS:
        _HEADER_KEYS.clear()
    _HEADER_KEYS[layout] = found
    return found


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Request(object):
    """One HTTP request, decoded on demand from its WSGI environ.

    ``route`` (the framework's matched pattern) and ``path_params`` are set
    by framework integrations, with :meth:`set_route` or, read on demand,
    through ``route_reader``; ``allowlisted`` is set by the middleware.
    """

    __slots__ = ("environ", "allowlisted", "route_reader", "_route", "_path_params", "_ip_header", "_trusted",
                 "_cache", "_tee")

    def __init__(self, environ, ip_header="", trusted=None):
        self.environ = environ
        self._route = None
        self._path_params = None
        self.allowlisted = False
        self.route_reader = None
        self._ip_header = ip_header
        self._trusted = trusted
        self._cache = {}
        self._tee = None
        length = environ.get("CONTENT_LENGTH")
        if length and length != "0":
            try:
                length = int(length)
            except ValueError:
                return
            stream = environ.get("wsgi.input")
            if 0 < length <= MAX_BODY_BYTES and stream is not None:
                self._tee = environ["wsgi.input"] = InputTee(stream, length)

    def set_route(self, route, params=None):
        """For framework integrations: the matched route pattern and its parameters."""
        self.route_reader = None
        self._route = route
        if params is not None:
            self._path_params = dict(params)
        self._cache.pop("inputs", None)

    def defer_route(self, reader):
        """For framework integrations: the matched route and its parameters, read by ``reader`` (see
        ``route_reader``) when first needed."""
        self.route_reader = reader
        self._cache.pop("inputs", None)

    @property
    def route(self):
        """The route pattern the framework matched (``/items/<id>``), or None."""
        if self.route_reader is not None:
            self._read_route()
        return self._route

    @property
    def path_params(self):
        """``{name: value}`` of the route's parameters."""
        if self.route_reader is not None:
            self._read_route()
        params = self._path_params
        if params is None:
            params = self._path_params = {}
        return params

    def _read_route(self):
        """Ask ``route_reader`` for the route: True once the framework has matched one (or found none).

        For frameworks whose matched route costs nothing to keep until asked
        for (a request that makes no sensitive call never asks). The reader
        returns ``(route, params)``, or None while the framework has not
        matched the URL yet; it never raises.
        """
        found = self.route_reader(self)
        if found is None:
            return False
        self.route_reader = None
        self._route, params = found
        if params:
            self._path_params = dict(params)
        return True

    def _cached(self, key, compute):
        value = self._cache.get(key, _UNSET)
        if value is _UNSET:
            value = self._cache[key] = compute()
        return value

    @property
    def method(self):
        return self.environ.get("REQUEST_METHOD", "GET")

    @property
    def scheme(self):
        return self.environ.get("wsgi.url_scheme", "http")

    @property
    def host(self):
        environ = self.environ
        host = environ.get("HTTP_HOST")
        if host:
            return host
        port = environ.get("SERVER_PORT", "")
        default = "443" if self.scheme == "https" else "80"
        name = environ.get("SERVER_NAME", "")
        return name if port in ("", default) else "%s:%s" % (name, port)

    @property
    def path(self):
        return self._cached("path", lambda: wsgi_text(
            self.environ.get("SCRIPT_NAME", "") + self.environ.get("PATH_INFO", "")))

    @property
    def client_ip(self):
        return self._cached("client_ip", lambda: _clientip.client_ip(
            self.environ, self._ip_header, self._trusted))

    @property
    def headers(self):
        """``{lower-case-name: value}`` of the request headers."""
        return self._cached("headers", self._headers)

    def _headers(self):
        environ = self.environ
        layout = tuple(environ)
        found = _HEADER_KEYS.get(layout)
        if found is None:
            found = _header_keys(layout)
        # An empty CONTENT_TYPE / CONTENT_LENGTH is no header.
        return {name: environ[key] for key, name in found[0] if key[0] == "H" or environ[key]}

    @property
    def cookies(self):
        """``{name: value}``, the first value of each cookie."""
        return dict(reversed(self._cookie_pairs()))

    def _cookie_pairs(self):
        return self._cached("cookie_pairs", lambda: parse_cookies(self.environ.get("HTTP_COOKIE", "")))

    @property
    def query(self):
        """``{name: [values]}`` from the query string."""
        return group(self._query_pairs())

    def _query_pairs(self):
        return self._cached("query", lambda: parse_urlencoded(
            wsgi_bytes(self.environ.get("QUERY_STRING", ""))))

    @property
    def content_type(self):
        return self._cached("content_type", lambda: header_params(self.environ.get("CONTENT_TYPE", "")))

    @property
    def body(self):
        """The body bytes when the agent may read them (declared length within bounds), else None."""
        return self._cached("body", self._read_body)

    def _read_body(self):
        if self._tee is None:
            return None
        try:
            return self._tee.agent_body()
        except Exception:  # the client went away mid-body: the app meets the same error on its next read
            from sqreen import _log

            self._tee.lost = True
            _log.log_once("request:body", "sqreen: cannot read a request body", exc_info=True)
            return None

    @property
    def form(self):
        """``{name: [values]}`` of a URL-encoded or multipart body."""
        return group(self._form()[0])

    @property
    def files(self):
        """``{field name: [file names]}`` of a multipart body."""
        return group(self._form()[1])

    def _form(self):
        return self._cached("form", self._parse_form)

    def _parse_form(self):
        kind, params = self.content_type
        if kind not in _FORM_TYPES:
            return [], []
        body = self.body
        if not body:
            return [], []
        if kind == _FORM_TYPES[0]:
            return parse_urlencoded(body), []
        return parse_multipart(body, params.get("boundary"))

    @property
    def json(self):
        """The JSON body, parsed; None when there is none or it does not parse."""
        return self._cached("json", self._parse_json)

    def _parse_json(self):
        kind = self.content_type[0]
        if not (kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))):
            return None
        body = self.body
        if not body:
            return None
        import json

        try:
            return json.loads(body.decode("utf-8-sig"))
        except ValueError:  # UnicodeDecodeError is one too
            return None

    def inputs(self):
        """Every input value as ``(source, name, value)``, computed once per request.

        Sources: ``query``, ``form``, ``filename`` (an uploaded file's name,
        named by its field), ``json`` (strings and numbers; names are dotted
        paths, ``user.tags.0``), ``path`` (route parameters, strings and
        numbers), ``cookie`` and ``header`` (all but ``Cookie``, which is
        split into cookies). At most :data:`MAX_INPUTS`.
        """
        inputs = self._cache.get("inputs")  # _cached() inlined: asked for by every check
        if inputs is None:
            if self.route_reader is not None and not self._read_route():
                return self._inputs()  # the URL is not matched yet: its parameters are still to come
            inputs = self._cache["inputs"] = self._inputs()
        return inputs

    def _inputs(self):
        # Parts the request does not have are skipped before any parsing: most
        # requests have no body, cookie or route parameter, and this runs on
        # the first sensitive call of every request.
        environ = self.environ
        out = []
        if environ.get("QUERY_STRING"):
            out.extend([("query", name, value) for name, value in self._query_pairs()])
        if self._tee is not None:  # a body the agent may read: the only place form and JSON inputs come from
            fields, files = self._form()
            out.extend([("form", name, value) for name, value in fields])
            out.extend([("filename", name, value) for name, value in files])
            if self.json is not None:
                flatten("json", u"", self.json, out, MAX_INPUTS)
        if self._path_params:
            flatten("path", u"", self._path_params, out, MAX_INPUTS)
        if environ.get("HTTP_COOKIE"):
            out.extend([("cookie", name, value) for name, value in self._cookie_pairs()])
        # The headers by name, from the layout cache of ``_headers`` (no dict of them made here); a
        # header sent under two keys (HTTP_CONTENT_TYPE and CONTENT_TYPE) is an input twice.
        layout = tuple(environ)
        found = _HEADER_KEYS.get(layout)
        if found is None:
            found = _header_keys(layout)
        for key, name in found[1]:
            if key[0] == "H" or environ[key]:
                out.append(("header", name, environ[key]))
        return tuple(out[:MAX_INPUTS])

    @property
    def request_id(self):
        """The ``X-Request-Id`` header, else an id made up for this request."""
        return self._cached("request_id", lambda: self.environ.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex)

    def event_dict(self):
        """The request as events carry it (see docs/events.md)."""
        return {
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "client_ip": self.client_ip,
            "user_agent": self.environ.get("HTTP_USER_AGENT"),
            "request_id": self.request_id,
        }
