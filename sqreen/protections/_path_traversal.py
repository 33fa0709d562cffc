"""Path traversal: a request input that takes a file path out of the directory the app chose.

The app builds a path by putting a directory in front of an input
(``/srv/uploads/`` + name). The input is an attack when, the path once
normalised the way the system resolves it, the part it contributes climbs
above that directory (``../../etc/passwd``), or when it is itself an
absolute path the app put nothing in front of (``os.path.join`` drops what
comes before one). Normalising means: ``.`` and empty components vanish,
``..`` removes one, ``/`` and ``\\`` both separate (a portable app may hand
the path to a system that reads ``\\`` so), and the path ends at a NUL
byte, where C code would stop reading it. A ``..`` that is only part of a
name (``report.v2..final.txt``, ``img_..``) is a name. Percent-encoding is
not decoded: the framework decoded the input already, and a file system
takes ``%2e%2e`` literally.
"""
import re

from sqreen import _log
from sqreen.protections import _matching
from sqreen.protections._attack import Attack
from sqreen.protections._pathtext import path_text

ATTACK_TYPE = "path_traversal"


_SEPARATORS = "/\\"
_SPLIT = re.compile(r"[/\\]")


def _normalise(text, stack, absolute):
    """Apply the components of ``text`` to ``stack`` (a list of names) the way a resolver would."""
    for part in _SPLIT.split(text):
        if part == "" or part == ".":
            continue
        if part == "..":
            if stack and stack[-1] != "..":
                stack.pop()
            elif not absolute:
                stack.append("..")  # a relative path may climb above where it starts
        else:
            stack.append(part)
    return stack


def _last_separator(text, end):
    return max(text.rfind("/", 0, end), text.rfind("\\", 0, end))


def _next_separator(text, start):
    positions = [p for p in (text.find("/", start), text.find("\\", start)) if p >= 0]
    return min(positions) if positions else len(text)


def escapes(path, start, end):
    """Why the input at ``path[start:end]`` takes the path out of the app's directory, or None."""
    value = path[start:end]
    if start == 0 and value[:1] in _SEPARATORS and value.strip(_SEPARATORS):
        return "absolute path"
    if path[start] in _SEPARATORS:
        anchor = start  # what precedes is a whole component
    else:
        anchor = _last_separator(path, start) + 1  # the input may finish a component the app began
    absolute = path[:1] in _SEPARATORS
    base = _normalise(path[:anchor], [], absolute)
    # The whole last component counts: an app suffix makes ".." + ".txt" a name.
    result = _normalise(path[anchor:_next_separator(path, end)], list(base), absolute)
    if result[:len(base)] != base or ".." in result[len(base):]:
        return "climbs above the directory"
    return None


def check_path(path, inputs):
    """An :class:`Attack` when a request input in the file ``path`` traverses out of its directory.

    ``path`` is str, bytes or a path object. Never raises; None when safe.
    """
    if not inputs:
        return None
    try:
        path = path_text(path)
        occurrences = _matching.find_occurrences(path, inputs)
        if not occurrences:
            return None
        nul = path.find("\x00")
        if nul >= 0:
            path = path[:nul]
        for item, start, end in occurrences:
            end = min(end, len(path))
            if start >= end:
                continue
            reason = escapes(path, start, end)
            if reason is not None:
                detail = {"path": path, "start": start, "end": end}
                return Attack(ATTACK_TYPE, item, reason, detail)
        return None
    except Exception:
        _log.log_once("protections.path_traversal", "path traversal check failed", exc_info=True)
        return None
