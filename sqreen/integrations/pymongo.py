"""pymongo: the filters, updates, pipelines and commands an app sends MongoDB are checked for NoSQL injection.

``Collection`` is a Python class: its query and write methods are hooked in
place (``find``, ``find_one``, ``find_one_and_*``, ``count_documents``,
``distinct``, ``aggregate``, ``update_*``, ``replace_one``, ``delete_*``,
``bulk_write``; on pymongo 3 also ``count``, ``update``, ``remove``,
``find_and_modify``, ``map_reduce``, ``inline_map_reduce``), and so is
``Database.command``. Every document argument of the call is checked
(filter, update, replacement, pipeline, projection, the operations of a
``bulk_write``). A method that calls another hooked one on the same thread
(``find_one`` calls ``find``) is checked once, so one attack makes one
event. In block mode the operation is not sent.
"""
from __future__ import absolute_import

import threading

import six

from sqreen import _attack_report, _log, _request
from sqreen.instrumentation import hook

DRIVER = "pymongo"
COLLECTION_METHODS = (
    "find", "find_one", "find_one_and_delete", "find_one_and_replace", "find_one_and_update",
    "count_documents", "distinct", "aggregate", "aggregate_raw_batches", "find_raw_batches",
    "update_one", "update_many", "replace_one", "delete_one", "delete_many", "bulk_write",
    # pymongo 3 only
    "count", "update", "remove", "find_and_modify", "group",
)
MAP_REDUCE_METHODS = ("map_reduce", "inline_map_reduce")
#: The attributes where pymongo's bulk operations (UpdateOne, DeleteMany...) keep their documents.
_BULK_FIELDS = ("_filter", "_doc")

_local = threading.local()
_state = {"handles": [], "patched": []}


def _documents(args, kwargs):
    """The dicts and lists among the call's arguments, and the documents of bulk operations."""
    docs = []
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, (dict, list, tuple)):
            docs.append(value)
            if isinstance(value, (list, tuple)):
                docs.extend(getattr(op, f) for op in value for f in _BULK_FIELDS
                            if isinstance(getattr(op, f, None), (dict, list)))
    return docs


def _arguments(instance, args, kwargs):
    return _documents(args, kwargs)


def _map_reduce_command(instance, args, kwargs):
    """The mapReduce command ``map_reduce(map, reduce, ...)`` sends, as far as the check needs it."""
    values = [a for a in args if a is not instance]
    cmd = {"mapReduce": _namespace(instance, "name") or ""}
    for key, value in zip(("map", "reduce"), values):
        cmd[key] = value
    for key in ("map", "reduce", "finalize"):
        if key in kwargs:
            cmd[key] = kwargs[key]
    return [cmd, kwargs.get("query") or {}]


def check(documents, method, namespace=None):
    """Check ``documents`` against the current request; report (monitor) or raise RequestBlocked (block)."""
    try:
        request = _request.current()
        if request is None:
            return None
        inputs = request.inputs()
        if not inputs:
            return None
        _nosql_injection = _attack_report.protection_module("_nosql_injection")
        operators = request._cached("nosql_operators",
                                    lambda: _nosql_injection.request_operators(inputs, request.json))
        attack = _nosql_injection.check(documents, inputs, operators=operators)
        if attack is None:
            return None
        detail = dict(attack.detail, driver=DRIVER, method=method)
        if namespace:
            detail["collection"] = namespace
        attack = attack._replace(detail=detail)
    except Exception:
        _log.log_once("integration:pymongo:check", "sqreen: NoSQL injection check failed; the operation runs",
                      exc_info=True)
        return None
    return _attack_report.protection(attack, request=request)


def _namespace(instance, attribute):
    """``instance.<attribute>`` when it is text. Looked up on the class first: a Database's unknown
    attributes are collections, and a collection refuses to be tested for truth."""
    if not isinstance(getattr(type(instance), attribute, None), property):
        return None
    value = getattr(instance, attribute)
    return value if isinstance(value, six.string_types) else None


def _pre(method, documents_of, attribute):
    def check_call(instance, args, kwargs):
        request = _request.current()
        if request is None:
            return
        active = getattr(_local, "active", None)
        if active is not None and active[0] is instance and active[1] is request:
            return  # within a call on this collection that was checked already
        check(documents_of(instance, args, kwargs), method, _namespace(instance, attribute))
        # The calls this one makes on this collection are checked already. Tied to the request, so
        # that a BaseException (gevent's Timeout) that skips _end cannot silence later requests.
        _local.active = (instance, request)

    check_call.__name__ = "check_" + method
    return check_call


def _end(instance, args, kwargs, *result):
    active = getattr(_local, "active", None)
    if active is not None and active[0] is instance:
        _local.active = None


def _hook_all(owner, methods, documents_of, attribute):
    for name in methods:
        if name in vars(owner):
            _state["handles"].append(hook((owner, name), pre=_pre(name, documents_of, attribute), post=_end,
                                          failing=_end, priority=1000))


def patch(module):
    """Hook ``Collection`` and ``Database.command`` of ``module`` (pymongo), once."""
    if any(done is module for done in _state["patched"]):
        return
    from pymongo import collection, database

    _hook_all(collection.Collection, COLLECTION_METHODS, _arguments, "full_name")
    _hook_all(collection.Collection, MAP_REDUCE_METHODS, _map_reduce_command, "full_name")
    _hook_all(database.Database, ("command",), _arguments, "name")
    _state["patched"].append(module)


def unpatch():
    """Remove the hooks :func:`patch` added."""
    while _state["handles"]:
        _state["handles"].pop().remove()
    del _state["patched"][:]
