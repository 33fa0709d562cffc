"""Secret redaction for events, applied before an event leaves the process.

Two rules, both case-insensitive:

* a mapping key (or the name of a ``(name, value)`` pair, as in header
  lists) that names a secret -- password, token, API key, cookie, session,
  ``Authorization`` ... -- has its whole value replaced, at any depth;
* in free text, payment card numbers (13 to 19 digits, optionally grouped
  with spaces or dashes, passing the Luhn check) and the values of
  ``secret_name=value`` pairs (query strings, form bodies, cookie headers
  pasted in a message) are replaced.

Everything here is linear in the size of its input: the patterns have no
nested or overlapping quantifiers, and the walk over containers is bounded
in depth and cycle-safe, so an attacker-shaped payload cannot make the
agent spin.
"""
import re

import six

REDACTED = "[REDACTED]"
TOO_DEEP = "[TOO DEEP]"
MAX_DEPTH = 20

# A key is secret when its letters and digits, lower-cased, contain one of
# these (so ``X-Api-Key``, ``apiKey`` and ``api_key`` all match) ...
_SECRET_PARTS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey",
    "privatekey", "authorization", "authentication", "cookie", "session", "sessid", "csrf",
    "xsrf", "creditcard", "cardnumber", "ccnumber", "cvv", "cvc", "bearer", "jwt",
    "signature", "credential",
)
# ... or when one of its words (split at punctuation and camelCase humps) is
# one of these short names, which would match too much as substrings
# ("auth" must not hit "author", "pin" not "shipping").
_SECRET_WORDS = frozenset((
    "pwd", "pass", "auth", "pin", "ssn", "sid", "otp",
))
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Card candidates: a digit, then 12 to 18 more digits each optionally
# preceded by one separator, not followed by a letter or digit (so hex ids
# and hashes are left alone; the character before is checked in _card_sub:
# a leading look-behind would stop the regex engine from skipping fast to
# the next digit). Every repetition consumes a digit, so matching is
# bounded per position.
_CARD = re.compile(r"[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")
# name=value pairs in query strings, form bodies and cookie strings; a name
# starts at a non-name character, so a long word is scanned once, not once
# per letter.
_PAIR = re.compile(r"(?<![A-Za-z0-9_.\-\[\]])([A-Za-z0-9_.\-\[\]]{1,128})=([^&;\s]*)")

_key_cache = {}
_KEY_CACHE_MAX = 4096


def is_secret_key(key):
    """True when a mapping key names a secret (case and punctuation ignored)."""
    if not isinstance(key, six.string_types):
        return False
    hit = _key_cache.get(key)
    if hit is None:
        hit = _classify_key(key)
        if len(_key_cache) < _KEY_CACHE_MAX:
            _key_cache[key] = hit
    return hit


def _classify_key(key):
    if len(key) > 256:
        key = key[:256]
    compact = _NOT_ALNUM.sub("", key.lower())
    for part in _SECRET_PARTS:
        if part in compact:
            return True
    for word in _WORDS.findall(key):
        if word.lower() in _SECRET_WORDS:
            return True
    return False


def luhn_ok(digits):
    """Luhn checksum of a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_sub(match):
    text = match.group(0)
    start = match.start()
    if start and match.string[start - 1].isalnum():
        return text  # the tail of a longer number, or part of an id
    digits = text.replace(" ", "").replace("-", "")
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return REDACTED
    return text


def _pair_sub(match):
    if match.group(2) and is_secret_key(match.group(1)):
        return match.group(1) + "=" + REDACTED
    return match.group(0)


def redact_text(text):
    """``text`` with card numbers and ``secret=value`` pair values replaced."""
    if "=" in text:
        text = _PAIR.sub(_pair_sub, text)
    return _CARD.sub(_card_sub, text)


def redact(value, _depth=0, _seen=None):
    """A redacted copy of ``value`` (dicts, lists, tuples, strings, scalars).

    Containers are copied, never modified in place; anything nested deeper
    than ``MAX_DEPTH`` or referring back to itself becomes a marker string.
    """
    if isinstance(value, six.binary_type):  # bytes are reported as text
        return redact_text(_as_text(value))
    if isinstance(value, six.string_types):
        return redact_text(value)
    if isinstance(value, (dict, list, tuple)):
        if _depth >= MAX_DEPTH:
            return TOO_DEEP
        if _seen is None:
            _seen = set()
        ident = id(value)
        if ident in _seen:
            return TOO_DEEP
        _seen.add(ident)
        try:
            if isinstance(value, dict):
                return _redact_dict(value, _depth + 1, _seen)
            return _redact_seq(value, _depth + 1, _seen)
        finally:
            _seen.discard(ident)
    return value


def _as_text(data):
    if six.PY2:
        try:
            data.decode("utf-8")
            return data  # valid UTF-8: keep the native str
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "replace")


def redact_fields(mapping, keep=()):
    """``redact(mapping)``, but the values of the keys in ``keep`` are kept as they are."""
    return _redact_dict(mapping, 1, set(), keep)


def _redact_dict(value, depth, seen, keep=()):
    # {"name": "password", "value": ...}: a named value, as an attack event's
    # input or a form field, is secret when its name is.
    named_secret = is_secret_key(value.get("name")) and "value" in value
    out = {}
    for key, item in six.iteritems(value):
        if key in keep:
            out[key] = item
        elif is_secret_key(key) or (named_secret and key == "value"):
            out[key] = REDACTED
        else:
            out[key] = redact(item, depth, seen)
    return out


def _redact_seq(value, depth, seen):
    out = []
    for item in value:
        # (name, value) pairs, as in WSGI header lists or parsed query strings.
        if (
            isinstance(item, (list, tuple))
            and len(item) == 2
            and isinstance(item[0], six.string_types)
            and is_secret_key(item[0])
        ):
            out.append([item[0], REDACTED])
        else:
            out.append(redact(item, depth, seen))
    return out
