"""Decoding request parts the way the web frameworks do: pure functions over WSGI strings and bytes.

Text comes out as UTF-8 decoded with replacement (WSGI gives bytes on 2.7
and Latin-1 decoded text on 3); a malformed part yields what can be read of
it, never an error.
"""
import six
from six.moves.urllib.parse import parse_qsl

#: Bound on the nesting :func:`flatten` follows, so an attacker-shaped body cannot make the agent spin.
MAX_DEPTH = 32


def wsgi_text(value):
    """A WSGI string (bytes on 2.7, Latin-1 decoded text on 3) as text, decoded as UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # not a WSGI string: keep it
        return value


def wsgi_bytes(value):
    """A WSGI string as the bytes that came on the wire."""
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
    delimiter = b"--" + wsgi_bytes(boundary)
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


def group(pairs):
    """``{name: [values]}`` from ``[(name, value)]``, in order."""
    grouped = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


_SCALARS = six.string_types + six.integer_types + (float,)


def flatten(source, name, value, out, limit):
    """Append ``(source, dotted name, value)`` to ``out`` for every string or number in ``value``.

    Booleans and None carry no text an injection could use and are left out;
    ``out`` grows to ``limit`` items at most.
    """
    stack = [(name, value, 0)]
    while stack and len(out) < limit:
        path, item, depth = stack.pop()
        if isinstance(item, _SCALARS) and not isinstance(item, bool):
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
