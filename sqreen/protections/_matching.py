"""Where a request's inputs occur, verbatim, in a string a sensitive call is about to use.

Shared by the injection protections (SQL, shell, paths, URLs): each one
first asks where any input occurs in the call's text, and only on an
occurrence does its own, costlier analysis. The search is plain substring
search (``in`` then ``str.find``), so its cost is linear in the text for
each input and no input can make it backtrack.

Inputs are ``(source, name, value)`` tuples as the request context yields
them. The rule on which inputs are looked for:

* text values are used as they are; byte values are decoded as UTF-8
  (undecodable bytes replaced); integers and floats (not booleans) are
  looked for in their decimal form; any other value is ignored;
* a value shorter than :data:`MIN_LENGTH` characters is ignored: one
  character occurs in almost every text and cannot carry an injection on
  its own (a lone quote only makes the call fail);
* a value longer than the text cannot occur in it and costs nothing more.

In a long text, a value is first ruled out, when it can be, by a
character of its own that the text lacks: a one-character search runs
far faster than a substring search, and values in a request mostly hold
some character a query does not (a dash, a ``@``, an uncommon letter).

Every occurrence is reported, overlapping ones included, up to
:data:`MAX_OCCURRENCES` per input, so that an attack that also occurs at an
innocent place is still seen at the other one.
"""
import six

#: Values shorter than this many characters are never looked for.
MIN_LENGTH = 2
#: At most this many occurrences of one input are reported.
MAX_OCCURRENCES = 64

_NUMBERS = six.integer_types + (float,)


def as_text(value):
    """The text form of an input value, or None when such a value is never looked for."""
    if isinstance(value, six.text_type):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return six.text_type(value)
    return None


def _text_of(text):
    if isinstance(text, bytes) and not isinstance(text, six.text_type):
        return text.decode("utf-8", "replace")
    return text


#: Texts at least this long have values ruled out by a character first.
PROBE_FROM = 200
# Characters found in almost every query, so useless to rule a value out.
_COMMON = " \t\n(),.=*'\"_ACDEFHILMNORSTUWacdeilmnorstu"


def _lacks_a_character(text, value):
    """True when ``text`` lacks the first or last uncommon character of ``value``."""
    rest = value.strip(_COMMON)
    return bool(rest) and (rest[0] not in text or rest[-1] not in text)


def _candidates(text, inputs, min_length):
    """``(input_tuple, value)`` for each input whose text value could occur in ``text``."""
    size = len(text)
    probe = size >= PROBE_FROM
    for item in inputs:
        value = item[2]
        if not isinstance(value, six.text_type):
            value = as_text(value)
            if value is None:
                continue
        if min_length <= len(value) <= size:
            if probe and _lacks_a_character(text, value):
                continue
            if value in text:
                yield item, value


def find_occurrences(text, inputs, min_length=MIN_LENGTH, max_occurrences=MAX_OCCURRENCES):
    """Every place where an input's value occurs in ``text``.

    Returns a list of ``(input_tuple, start, end)`` with ``text[start:end]``
    equal to the input's value, in the order of ``inputs`` then of position;
    an empty list (the common case) when no input occurs. ``text`` may be
    text or UTF-8 bytes (positions are then those of the decoded text).
    """
    text = _text_of(text)
    found = []
    for item, value in _candidates(text, inputs, min_length):
        length = len(value)
        start = text.find(value)
        count = 0
        while start >= 0 and count < max_occurrences:
            found.append((item, start, start + length))
            count += 1
            start = text.find(value, start + 1)
    return found


def occurs(text, inputs, min_length=MIN_LENGTH):
    """True when at least one input's value occurs in ``text`` (the cheap first test)."""
    for _ in _candidates(_text_of(text), inputs, min_length):
        return True
    return False
