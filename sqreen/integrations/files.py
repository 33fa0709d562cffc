"""File sinks: every path a request opens, removes, renames, copies or sends is checked for path traversal.

Sinks: ``open`` (the builtin, ``__builtin__.open`` on 2.7) and ``io.open``,
``os.open``, ``os.remove``, ``os.unlink``, ``os.rename``, the ``shutil``
copies (``copy``, ``copy2``, ``copyfile``, ``copytree``) and ``move``,
``pathlib.Path.open`` / ``read_text`` / ``read_bytes`` / ``write_text`` /
``write_bytes`` (Python 3) and Flask's ``send_file`` and
``send_from_directory`` (the directory joined to the name, as the app means
it). Django's ``FileResponse`` takes an open file: the ``open`` that made it
was checked. The check itself is ``protections._path_traversal``.

``open`` is called all the time outside requests (logging, templates,
imports on 2.7, the agent): each sink is a :class:`RequestHookPoint`, so
outside a request a call costs the wrapper and one context look-up more
(about 0.2 microseconds on CPython 3.11). Calls the agent
makes itself (its caller is a ``sqreen`` module) are never reported nor
blocked, nor are those made while one of its callbacks runs.

One input makes one event per request in monitor mode, from the outermost
sink (``Path.read_text`` runs ``open``, ``shutil.copy`` runs ``copyfile``
runs ``open``: the first check of the chain reports). In block mode the
first check stops the call.

Known gaps: names bound before the patch (``from os import remove`` in a
module imported before the agent started; ``io.open`` taken by reference),
``_io.open``, ``os.replace``, other ``pathlib.Path`` methods and, on 2.7,
the ``file`` type are not checked; nor is an input the app rewrote before
using it (stripping ``../`` once turns ``....//`` into ``../``, which no
longer occurs verbatim in the input).
"""
from __future__ import absolute_import

import io
import os
import sys
import types

import six

from sqreen import _log
from sqreen.instrumentation import _wrappers
from sqreen.integrations._callargs import argument
from sqreen.integrations._inrequest import RequestHookPoint, current_request
from sqreen.protections._path_traversal import check_path
from sqreen.protections._pathtext import path_text

#: The request cache key of the inputs already reported by a file sink.
_REPORTED = "files.reported"
#: Modules of the hooking machinery, skipped when looking for who called a sink.
_MACHINERY = ("sqreen.instrumentation", "sqreen.integrations")
_DISPATCH_FILE = "<sqreen dispatch>"

_state = {"undo": [], "patched": set()}


def is_path(value):
    """True for what a file function takes as a path: text, bytes or an ``os.PathLike``, not a descriptor."""
    return isinstance(value, (six.text_type, bytes)) or hasattr(type(value), "__fspath__")


def called_by_agent(depth=2):
    """True when the code that called the hooked sink is the agent's own (a ``sqreen`` module)."""
    frame = sys._getframe(depth)
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if frame.f_code.co_filename != _DISPATCH_FILE and not name.startswith(_MACHINERY):
            return name.startswith("sqreen.") and not name.startswith("sqreen._demo")
        frame = frame.f_back
    return False


def check(sink, path):
    """Report (monitor) or block (``RequestBlocked``) when a request input in ``path`` escapes its directory.

    ``sink`` names the call for the event. Returns the event reported, else None.
    """
    if not is_path(path):
        return None
    request = current_request()
    inputs = request.inputs() if request is not None else None
    if not inputs:
        return None
    attack = check_path(path, inputs)
    if attack is None or called_by_agent():
        return None
    from sqreen import _attack_report  # with the request module: not at the agent's start

    if not _attack_report.blocking():
        reported = request._cached(_REPORTED, set)
        if attack.input in reported:
            return None  # an outer sink of the same call reported it
        reported.add(attack.input)
    detail = dict(attack.detail or {})
    detail["sink"] = sink
    return _attack_report.protection(attack._replace(detail=detail), request=request)


def arguments(*positions):
    """``paths(instance, args, kwargs)``: the first arguments, ``positions`` giving each one's keywords."""
    count = len(positions)

    def paths(instance, args, kwargs):
        if len(args) >= count:
            return args[:count]  # the common case: all passed by position
        return [argument(args, kwargs, index, names) for index, names in enumerate(positions)]

    return paths


def _the_instance(instance, args, kwargs):
    return [instance]


def _directory_and_name(instance, args, kwargs):
    directory = argument(args, kwargs, 0, ("directory",))
    name = argument(args, kwargs, 1, ("path", "filename"))
    if is_path(directory) and is_path(name):
        return [os.path.join(path_text(directory), path_text(name))]
    return [name]


FILE = arguments(("file", "name"))
PATH = arguments(("path", "filename"))
SOURCE_AND_DESTINATION = arguments(("src",), ("dst",))
SEND_FILE = arguments(("path_or_file", "filename_or_fp"))

OS_SINKS = (("open", PATH), ("remove", PATH), ("unlink", PATH), ("rename", SOURCE_AND_DESTINATION))
SHUTIL_SINKS = tuple((name, SOURCE_AND_DESTINATION)
                     for name in ("copy", "copy2", "copyfile", "copytree", "move"))
PATHLIB_SINKS = tuple((name, _the_instance)
                      for name in ("open", "read_text", "read_bytes", "write_text", "write_bytes"))
FLASK_SINKS = (("send_file", SEND_FILE), ("send_from_directory", _directory_and_name))


def _pre(sink, paths_of):
    def check_file_paths(instance, args, kwargs):
        for path in paths_of(instance, args, kwargs):
            check(sink, path)

    return check_file_paths


def install(owner, name, sink, paths_of):
    """Hook ``owner.name`` as the file sink ``sink`` (once); ``paths_of`` picks the paths of a call."""
    key = (id(owner), name)
    if key in _state["patched"] or getattr(owner, name, None) is None:
        return
    point = RequestHookPoint(sink)
    point.add(pre=_pre(sink, paths_of))
    try:
        _state["undo"].append(_wrappers.install(owner, name, point))
    except Exception:
        _log.log_once("integration:files:" + sink, "sqreen: cannot hook %s; it is not checked for path "
                      "traversal", sink, exc_info=True)
        return
    _state["patched"].add(key)


def _install_all(owner, prefix, sinks):
    for name, paths_of in sinks:
        install(owner, name, prefix + name, paths_of)


def patch(module):
    """Hook the builtin ``open``, ``io.open`` and the ``os`` file functions (``module``: ``os``)."""
    install(six.moves.builtins, "open", "open", FILE)
    install(io, "open", "io.open", FILE)
    _install_all(module, "os.", OS_SINKS)


def patch_shutil(module):
    """Hook the ``shutil`` copies and ``move``."""
    _install_all(module, "shutil.", SHUTIL_SINKS)


def patch_pathlib(module):
    """Hook the ``pathlib.Path`` methods that open a file (Python 3)."""
    _install_all(module.Path, "pathlib.Path.", PATHLIB_SINKS)
    accessor = getattr(module, "_NormalAccessor", None)
    if accessor is not None:
        unbind_builtin_wrappers(accessor)


def unbind_builtin_wrappers(cls):
    """Make the wrappers of builtins that ``cls`` took as attributes static again.

    pathlib's accessor (3.8 to 3.10) holds ``os.open``, ``os.unlink``... as
    class attributes: a builtin does not bind to the instance, but the
    function that wraps it once hooked would.
    """
    for name, value in list(vars(cls).items()):
        if type(value) is types.FunctionType and \
                type(getattr(value, "__wrapped__", None)) is types.BuiltinFunctionType:
            setattr(cls, name, staticmethod(value))


def patch_flask(module):
    """Hook ``send_file`` and ``send_from_directory`` in ``flask`` and ``flask.helpers``."""
    owners = [module]
    helpers = sys.modules.get(module.__name__ + ".helpers")
    if helpers is not None:
        owners.append(helpers)
    for owner in owners:
        _install_all(owner, "flask.", FLASK_SINKS)


def unpatch():
    """Undo every patch of this module (for tests)."""
    while _state["undo"]:
        _state["undo"].pop()()
    _state["patched"].clear()
