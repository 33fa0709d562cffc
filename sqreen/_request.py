"""The request being served: one object per request, read lazily, and where it is kept.

A :class:`Request` holds the WSGI environ and decodes a part of it only
when something asks for that part, so a request that never reaches a
sensitive call costs one small object. Inputs are decoded the way the
frameworks decode them (UTF-8 with replacement for the path, the query,
form fields and names, JSON parsed from a UTF-8 body).

The body is read only when an input from it is asked for, and only when the
request declares a ``Content-Length`` of at most :data:`MAX_BODY_BYTES`
(a chunked body without a length is never read by the agent). For such a
request ``wsgi.input`` is replaced at the start by a thin proxy that keeps a
copy of what the application reads; when the agent needs the body it
takes what the application already read plus the rest, and the
application goes on reading that rest from a buffer: it sees exactly the
same bytes as without the agent.

The current request lives in a context variable on Python 3.7+ (each
thread and each asyncio task sees its own) and in a thread-local before.
"""
import io
import threading
import uuid

import six
from six.moves.urllib.parse import parse_qsl

from sqreen import _clientip

try:
    import contextvars
except ImportError:  # Python 2.7 and 3.6
    contextvars = None

#: The largest body the agent reads (and keeps a copy of) to inspect it.
MAX_BODY_BYTES = 1024 * 1024
#: Bounds on :meth:`Request.inputs`, so an attacker-shaped body cannot make the agent spin.
MAX_INPUTS = 4096
MAX_DEPTH = 32

if contextvars is not None:
    _var = contextvars.ContextVar("sqreen_request", default=None)
    current = _var.get
    activate = _var.set

else:
    _local = threading.local()

    def current():
        """The request being served in this thread, or None."""
        return getattr(_local, "request", None)

    def activate(request):
        """Make ``request`` (or None) the current one."""
        _local.request = request


def deactivate():
    """Forget the current request."""
    activate(None)


def current_inputs():
    """The current request's input strings (see :meth:`Request.inputs`), or ``()`` outside a request."""
    request = current()
    return () if request is None else request.inputs()


def wsgi_text(value):
    """A WSGI string (bytes on 2.7, Latin-1 decoded text on 3) as text, decoded as UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # not a WSGI string: keep it
        return value


def _wsgi_bytes(value):
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def parse_urlencoded(data):
    """``[(name, value)]`` text pairs from URL-encoded bytes, blank values kept."""
    if six.PY2:
        return [(k.decode("utf-8", "replace"), v.decode("utf-8", "replace"))
                for k, v in parse_qsl(data, keep_blank_values=True)]
    return parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True, errors="replace")


def header_params(value):
    """``(main value, {param: value})`` of a header such as ``Content-Type`` or ``Content-Disposition``."""
    parts = _split_params(value)
    params = {}
    for part in parts[1:]:
        name, sep, text = part.partition("=")
        if not sep:
            continue
        name = name.strip().lower()
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if name.endswith("*"):  # RFC 5987: charset'lang'percent-encoded
            charset, _, rest = text.partition("'")
            text = _unquote_ext(rest.partition("'")[2], charset or "utf-8")
            name = name[:-1]
            params[name] = text
        else:
            params.setdefault(name, text)
    return parts[0].strip().lower(), params


def _split_params(value):
    parts, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote_ext(text, charset):
    from six.moves.urllib.parse import unquote_to_bytes

    raw = unquote_to_bytes(text.encode("utf-8"))
    try:
        return raw.decode(charset, "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def parse_multipart(body, boundary):
    """``(fields, files)`` of a multipart body: ``[(name, value)]`` and ``[(name, file name)]``."""
    fields, files = [], []
    if not boundary:
        return fields, files
    delimiter = b"--" + _wsgi_bytes(boundary)
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        params = None
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-disposition":
                params = header_params(value.decode("utf-8", "replace"))[1]
        if params is None or "name" not in params:
            continue
        if "filename" in params:
            files.append((params["name"], params["filename"]))
        else:
            fields.append((params["name"], content.decode("utf-8", "replace")))
    return fields, files


def parse_cookies(header):
    """``[(name, value)]`` of a ``Cookie`` header, leniently, as the frameworks do."""
    pairs = []
    for item in wsgi_text(header).split(";"):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not name and not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        pairs.append((name, value))
    return pairs


def _group(pairs):
    grouped = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def flatten(source, name, value, out, limit=MAX_INPUTS):
    """Append ``(source, dotted name, text)`` to ``out`` for every string in ``value``, nested or not."""
    stack = [(name, value, 0)]
    while stack and len(out) < limit:
        path, item, depth = stack.pop()
        if isinstance(item, six.string_types):
            out.append((source, path, item))
        elif depth >= MAX_DEPTH:
            continue
        elif isinstance(item, dict):
            children = [(_join(path, key), child, depth + 1) for key, child in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            children = [(_join(path, index), child, depth + 1) for index, child in enumerate(item)]
            stack.extend(reversed(children))
    return out


def _join(path, key):
    return u"%s.%s" % (path, key) if path else six.text_type(key)


class InputTee(object):
    """A ``wsgi.input`` stand-in that keeps a copy of what the application reads.

    ``agent_body()`` returns the whole body once: what was read so far plus
    the rest, which the application then reads from a buffer.
    """

    __slots__ = ("stream", "length", "captured", "seen", "body", "lost")

    def __init__(self, stream, length):
        self.stream = stream
        self.length = length
        self.captured = []
        self.seen = 0
        self.body = None
        self.lost = False  # the app moved through the stream by a way not copied here

    def _keep(self, data):
        if self.body is None and data and self.seen < self.length:
            room = self.length - self.seen
            self.captured.append(data if len(data) <= room else data[:room])  # bytes are shared, not copied
            self.seen += len(data)
        return data

    def read(self, *args, **kwargs):
        return self._keep(self.stream.read(*args, **kwargs))

    def readline(self, *args, **kwargs):
        return self._keep(self.stream.readline(*args, **kwargs))

    def readlines(self, *args, **kwargs):
        lines = self.stream.readlines(*args, **kwargs)
        for line in lines:
            self._keep(line)
        return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def __getattr__(self, name):
        if name in _UNTRACKED and self.body is None:
            self.lost = True
        return getattr(self.stream, name)

    def agent_body(self):
        """The whole body (bytes), read at most once; None when the app read it in a way not copied."""
        if self.lost:
            return None
        if self.body is None:
            head = b"".join(self.captured)
            rest = _read_exactly(self.stream, self.length - len(head)) if len(head) < self.length else b""
            self.stream = io.BytesIO(rest)
            self.body = head + rest
            self.captured = None
        return self.body


# Ways to move through a stream that the copy does not follow: once the app uses one, the agent
# leaves the body alone.
_UNTRACKED = frozenset(("readinto", "readinto1", "read1", "peek", "seek", "truncate", "detach"))


def _read_exactly(stream, size):
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


_UNSET = object()
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Request(object):
    """One HTTP request, decoded on demand from its WSGI environ.

    ``route`` (the framework's matched pattern) and ``path_params`` are set
    by framework integrations; ``allowlisted`` by the middleware.
    """

    __slots__ = ("environ", "route", "path_params", "allowlisted", "_ip_header", "_trusted", "_cache",
                 "_tee")

    def __init__(self, environ, ip_header="", trusted=None):
        self.environ = environ
        self.route = None
        self.path_params = {}
        self.allowlisted = False
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
        self.route = route
        if params is not None:
            self.path_params = dict(params)
        self._cache.pop("inputs", None)

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
        headers = {}
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers[key.replace("_", "-").lower()] = value
        return headers

    @property
    def cookies(self):
        """``{name: value}``, the first value of each cookie."""
        return dict(reversed(self._cookie_pairs()))

    def _cookie_pairs(self):
        return self._cached("cookie_pairs", lambda: parse_cookies(self.environ.get("HTTP_COOKIE", "")))

    @property
    def query(self):
        """``{name: [values]}`` from the query string."""
        return _group(self._query_pairs())

    def _query_pairs(self):
        return self._cached("query", lambda: parse_urlencoded(
            _wsgi_bytes(self.environ.get("QUERY_STRING", ""))))

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
        return _group(self._form()[0])

    @property
    def files(self):
        """``{field name: [file names]}`` of a multipart body."""
        return _group(self._form()[1])

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
        """Every input string as ``(source, name, value)``, computed once per request.

        Sources: ``query``, ``form``, ``filename`` (an uploaded file's name,
        named by its field), ``json`` (names are dotted paths, ``user.tags.0``),
        ``path`` (route parameters), ``cookie`` and ``header`` (all but
        ``Cookie``, which is split into cookies). At most :data:`MAX_INPUTS`.
        """
        return self._cached("inputs", self._inputs)

    def _inputs(self):
        out = []
        for source, pairs in (("query", self._query_pairs()), ("form", self._form()[0]),
                              ("filename", self._form()[1])):
            for name, value in pairs:
                out.append((source, name, value))
        if self.json is not None:
            flatten("json", u"", self.json, out)
        flatten("path", u"", self.path_params, out)
        for name, value in self._cookie_pairs():
            out.append(("cookie", name, value))
        for name, value in sorted(self.headers.items()):
            if name != "cookie":
                out.append(("header", name, value))
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
