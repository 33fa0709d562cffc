"""Paths and command arguments as text, the way the input matching sees them."""
import os

import six


def path_text(path):
    """A path as text: bytes decoded as UTF-8 (as the matching does), path objects through fspath/str."""
    if isinstance(path, six.text_type):
        return path
    if isinstance(path, bytes):
        return path.decode("utf-8", "replace")
    fspath = getattr(os, "fspath", None)
    if fspath is not None:
        try:
            return path_text(fspath(path))
        except TypeError:
            pass
    return six.text_type(path)
