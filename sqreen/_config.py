"""The agent's configuration: typed values, and where each one came from.

Precedence, lowest first: built-in defaults, the INI file (section
``[sqreen]``; path from ``SQREEN_CONFIG``, else ``./sqreen.ini`` when it
exists), then environment variables ``SQREEN_<KEY>``. A bad value never
stops anything: it becomes a one-line error in :attr:`Config.errors` and the
key keeps its default, so ``start()`` can log it and go on while
``sqreen doctor`` and ``sqreen-start`` can print it and refuse.

This module is what a disabled agent imports, so it stays small and imports
the INI parser only when there is a file to read.
"""
import os

DEFAULT_FILE = "sqreen.ini"
SECTION = "sqreen"
ENV_PREFIX = "SQREEN_"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_MODES = ("monitor", "block")
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(ValueError):
    """A value that cannot be parsed; its message is a one-line explanation."""


def parse_bool(text):
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError("expected a boolean (1/0, true/false, yes/no, on/off)")


def _number(kind, name, minimum):
    def parse(text):
        try:
            value = kind(text.strip())
        except ValueError:
            raise ConfigError("expected %s" % name)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError("expected %s" % name)
        if value < minimum:
            raise ConfigError("expected %s >= %s" % (name, minimum))
        return value

    return parse


def _choice(choices):
    def parse(text):
        low = text.strip().lower()
        if low not in choices:
            raise ConfigError("expected one of %s" % ", ".join(choices))
        return low

    return parse


def parse_list(text):
    """Comma- or whitespace-separated items, empty ones dropped."""
    return [item for item in text.replace(",", " ").split() if item]


def _parse_ipv4(text):
    from sqreen import _ipparse  # only when a network is configured: disabled start-up stays small

    value = _ipparse.dotted_ipv4(text)
    if value is None:
        raise ConfigError("bad IPv4 address %r" % text)
    return value


def _parse_ipv6(text):
    from sqreen import _ipparse

    value = _ipparse.ipv6(text)
    if value is None:
        raise ConfigError("bad IPv6 address %r" % text)
    return value


def parse_network(text):
    """``addr`` or ``addr/prefix`` (IPv4 or IPv6) -> (version, network int, prefix length).

    Host bits set under the prefix are an error, as a typo there usually
    means a wider or narrower range than intended.
    """
    text = text.strip()
    addr, sep, prefix = text.partition("/")
    if ":" in addr:
        version, bits, value = 6, 128, _parse_ipv6(addr)
    else:
        version, bits, value = 4, 32, _parse_ipv4(addr)
    if sep:
        if not prefix.isdigit() or int(prefix) > bits:
            raise ConfigError("bad prefix length in %r" % text)
        length = int(prefix)
    else:
        length = bits
    if value & ((1 << (bits - length)) - 1):
        raise ConfigError("%r has host bits set" % text)
    return version, value, length


def parse_networks(text):
    return [parse_network(item) for item in parse_list(text)]


def _header_name(text):
    name = text.strip()
    if any(c.isspace() or c == ":" for c in name):
        raise ConfigError("expected an HTTP header name")
    return name


def _text(text):
    return text.strip()


def parse_user_list(text):
    """``key=value`` items (``username=mallory, email=eve@example.com``) -> ``[(key, value)]``."""
    pairs = []
    for item in parse_list(text):
        key, sep, value = item.partition("=")
        if not (sep and key.strip() and value.strip()):
            raise ConfigError("expected identifier=value items (username=bob email=eve@example.com), "
                              "got %r" % item)
        pairs.append((key.strip(), value.strip()))
    return pairs


#: key -> (default, parser, secret). Defaults are already-parsed values.
SCHEMA = {
    "disable": (False, parse_bool, False),
    "mode": ("monitor", _choice(_MODES), False),
    "events_file": ("", _text, False),
    "url": ("", _text, True),
    "token": ("", _text, True),
    "app_name": ("", _text, False),
    "performance_budget_ms": (5.0, _number(float, "a number of milliseconds", 0), False),
    "ip_header": ("", _header_name, False),
    "trusted_proxies": ([], parse_networks, False),
    "force_start": (False, parse_bool, False),
    "log_level": ("warning", _choice(_LOG_LEVELS), False),
    "queue_size": (10000, _number(int, "an integer", 1), False),
    "flush_timeout": (2.0, _number(float, "a number of seconds", 0), False),
    "metrics_interval": (60.0, _number(float, "a number of seconds", 1), False),
    "ip_blocklist": ([], parse_networks, False),
    "ip_allowlist": ([], parse_networks, False),
    "user_blocklist": ([], parse_user_list, False),
    "ato_window": (600.0, _number(float, "a number of seconds", 1), False),
    "ato_max_failures_per_ip": (50, _number(int, "an integer (0 turns the counter off)", 0), False),
    "ato_max_failures_per_user": (20, _number(int, "an integer (0 turns the counter off)", 0), False),
    "ato_block_seconds": (900.0, _number(float, "a number of seconds", 1), False),
}

DEFAULT = "default"


class Config(object):
    """Parsed values (as attributes), their origins and the errors met."""

    def __init__(self):
        self.values = {}
        self.sources = {}
        self.raw = {}
        self.errors = []
        self.file = None
        for key, (default, _, _) in SCHEMA.items():
            self.values[key] = list(default) if isinstance(default, list) else default
            self.sources[key] = DEFAULT

    def __getattr__(self, name):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name)

    def set(self, key, text, source):
        """Parse ``text`` for ``key``; on error keep the previous value and record why."""
        parse = SCHEMA[key][1]
        try:
            value = parse(text)
        except ConfigError as exc:
            self.errors.append("%s: %s=%r: %s" % (source, key, text, exc))
            return False
        self.values[key] = value
        self.sources[key] = source
        self.raw[key] = text
        return True

    def display(self, key):
        """The value as ``sqreen doctor`` shows it, secrets masked."""
        if key not in self.raw:
            value = self.values[key]
            return "" if value in ("", []) else str(value)
        text = self.raw[key]
        if SCHEMA[key][2] and text:
            return _mask(key, text)
        return text


def _mask(key, text):
    if key == "url":
        scheme, sep, rest = text.partition("://")
        if sep and "@" in rest.split("/", 1)[0]:
            return scheme + "://***@" + rest.split("@", 1)[1]
        return text
    return text[:2] + "***" if len(text) > 8 else "***"


def find_file(environ, cwd):
    """The config file to read: ``SQREEN_CONFIG`` (must exist), else ``./sqreen.ini`` if present."""
    path = environ.get(ENV_PREFIX + "CONFIG")
    if path:
        return os.path.join(cwd, path)
    path = os.path.join(cwd, DEFAULT_FILE)
    return path if os.path.isfile(path) else None


def _read_file(config, path):
    from six.moves import configparser

    parser = configparser.RawConfigParser()
    try:
        with open(path) as f:
            if hasattr(parser, "read_file"):
                parser.read_file(f, path)
            else:
                parser.readfp(f, path)
    except (IOError, OSError) as exc:
        config.errors.append("config file %s: cannot read: %s" % (path, exc.strerror or exc))
        return
    except configparser.Error as exc:
        config.errors.append("config file %s: %s" % (path, str(exc).replace("\n", " ").strip()))
        return
    config.file = path
    if not parser.has_section(SECTION):
        return
    source = "file %s" % path
    for key, text in parser.items(SECTION):
        key = key.lower()
        if key in SCHEMA:
            config.set(key, text, source)
        else:
            config.errors.append("%s: unknown key %r" % (source, key))


def load(environ=None, cwd=None):
    """Build the :class:`Config` in force for ``environ`` (os.environ) and ``cwd``."""
    environ = os.environ if environ is None else environ
    config = Config()
    try:
        cwd = cwd or os.getcwd()
    except OSError:  # the working directory was removed
        cwd = "/"
    path = find_file(environ, cwd)
    if path is not None:
        _read_file(config, path)
    for key in sorted(SCHEMA):
        name = ENV_PREFIX + key.upper()
        if name in environ:
            config.set(key, environ[name], "env %s" % name)
    return config
