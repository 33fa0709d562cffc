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
A request's inputs (one tuple for all its sensitive calls) are converted
and their probe characters found once, on their second search; a long
text is then scanned once per probe character, however many values
share it.

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


def _entries(inputs):
    """``[(input_tuple, text value, length)]``: the inputs ever looked for, ready to search.

    The same values as :func:`candidates`'s first search of ``inputs`` looks
    for (that loop converts them inline: it runs on every request).
    """
    text = six.text_type
    pairs = [(item, item[2] if isinstance(item[2], text) else as_text(item[2])) for item in inputs]
    return [(item, value, len(value)) for item, value in pairs if value is not None]


def _probed(prepared):
    """The entries with each value's first and last uncommon characters ("" when it has none), and
    all those characters once: a long text is then scanned once per character, not once per value."""
    if prepared[1] is None:
        probed = []
        chars = set()
        for item, value, length in prepared[0]:
            rest = value.strip(_COMMON)
            first, last = (rest[0], rest[-1]) if rest else ("", "")
            probed.append((item, value, length, first, last))
            chars.update((first, last))
        chars.discard("")
        prepared[1] = (probed, tuple(chars))
    return prepared[1]


# ``(inputs, prepared)``: the last tuple of inputs searched, and from its second
# search on, ``[entries, probed or None]``. The request context hands out one tuple
# per request, searched for in each of its queries, commands, paths and URLs: from
# the second, its values are converted once and long texts probed once per
# character. Only a tuple is remembered (a list could change); the pair is
# replaced whole, so a thread always reads a consistent one. It holds the last
# request's inputs until another tuple is searched.
_last = (None, None)


def _py_candidates(text, inputs, min_length=MIN_LENGTH):
    """``[(input_tuple, value)]`` for each input whose text value could occur in ``text`` (decoded).

    The cheap first test: empty (the common case) when no input occurs;
    :func:`find_occurrences` then says where. (``candidates``: this, or,
    where it was built, its compiled version for short texts, which hands
    long ones back to this.)
    """
    global _last
    size = len(text)
    last = _last
    if last[0] is inputs:
        prepared = last[1]
        if prepared is None:
            prepared = [_entries(inputs), None]
            _last = (inputs, prepared)
        return _search_prepared(text, size, prepared, min_length)
    if isinstance(inputs, tuple):
        _last = (inputs, None)
    found = []
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
                found.append((item, value))
    return found


def _search_prepared(text, size, prepared, min_length):
    """:func:`candidates` for inputs searched before: each long text scanned once per probe character."""
    if size < PROBE_FROM:
        return [(item, value) for item, value, length in prepared[0]
                if min_length <= length <= size and value in text]
    probed, chars = prepared[1] or _probed(prepared)
    missing = frozenset([char for char in chars if char not in text])
    return [(item, value) for item, value, length, first, last in probed
            if min_length <= length <= size and first not in missing and last not in missing
            and value in text]


def find_occurrences(text, inputs, min_length=MIN_LENGTH, max_occurrences=MAX_OCCURRENCES):
    """Every place where an input's value occurs in ``text``.

    Returns a list of ``(input_tuple, start, end)`` with ``text[start:end]``
    equal to the input's value, in the order of ``inputs`` then of position;
    an empty list (the common case) when no input occurs. ``text`` may be
    text or UTF-8 bytes (positions are then those of the decoded text).
    """
    if isinstance(text, bytes) and not isinstance(text, six.text_type):  # _text_of() inlined: every query
        text = text.decode("utf-8", "replace")
    found = []
    for item, value in candidates(text, inputs, min_length):
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
    return bool(candidates(_text_of(text), inputs, min_length))


def _compiled_candidates():
    """The compiled ``candidates`` (``sqreen.protections._candidates``), or None where it was not built."""
    try:
        from sqreen.protections import _candidates
    except ImportError:
        return None
    _candidates.configure(_py_candidates, as_text, PROBE_FROM)
    return _candidates.candidates


candidates = _compiled_candidates() or _py_candidates
