"""aiohttp's client (Python 3 only): ``ClientSession`` requests checked for SSRF.

``ClientSession._request`` (behind ``get``, ``post``, ``request``...) sees
the URL as the application gave it: that is the fetch. aiohttp follows
redirects inside it, asking its connector for a connection to each target
(``BaseConnector.connect``, with the request: its target URL, whatever the
proxy): inside the fetch each is a hop whose host is judged first. The TCP
connector's ``_resolve_host`` returns the addresses it is about to connect
to: for the fetch's own hosts they are judged before any connection, which
catches a name rebound since the check's look-up.

Known gaps: a connection taken from the pool skips ``_resolve_host`` (its
host is still judged as a hop); on Python 3.6 only the URL given to
``_request`` is checked (no redirect, no resolved address).
"""
from __future__ import absolute_import

from sqreen.integrations import _ssrf_fetch
from sqreen.integrations._ssrf_fetch_async import AsyncEntry, AsyncResolved


#: The URL of ``_request(method, str_or_url, ...)``.
request_url = _ssrf_fetch.argument(1, "str_or_url")
#: The target URL of ``connect(req, ...)``.
connector_url = _ssrf_fetch.argument(0, "req", "url")


def resolved(args, kwargs, result):
    """``(host, addresses)`` of ``_resolve_host(host, port, ...)`` and what it returned."""
    host = args[0] if args else kwargs.get("host")
    return host, [item.get("host") for item in result]


def hooks(module):
    """``ClientSession._request``, ``BaseConnector.connect`` and ``TCPConnector._resolve_host``."""
    return [
        (module.ClientSession, "_request", AsyncEntry("aiohttp", request_url, top=True)),
        (module.BaseConnector, "connect", AsyncEntry("aiohttp", connector_url)),
        (module.TCPConnector, "_resolve_host", AsyncResolved("aiohttp", resolved)),
    ]


patch, unpatch = _ssrf_fetch.integration(hooks)
