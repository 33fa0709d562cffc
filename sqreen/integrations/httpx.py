"""httpx (Python 3 only): sync and async clients checked for SSRF.

``Client.request`` / ``AsyncClient.request`` (``httpx.get`` and friends)
see the URL as the application wrote it: that is the fetch. ``send``
(which ``stream()`` and the application may call with a built request) is
a fetch when called on its own, with the URL httpx normalised. Every
request the client sends, the redirects it follows included, reaches
``HTTPTransport.handle_request`` / ``AsyncHTTPTransport.handle_async_request``
with its target URL (a proxy is the transport's business): inside the
fetch each is a hop whose host is judged before httpcore connects.

Known gap: httpcore resolves and connects out of reach, so the address
actually connected is not judged: a name rebound between the check's
look-up and httpcore's (DNS rebinding) is not caught. Custom transports
(``MockTransport``, ``WSGITransport``...) are not hops. On Python 3.6
the async client checks only the URL given to ``AsyncClient.request``.
"""
from __future__ import absolute_import

from sqreen.integrations import _ssrf_fetch
from sqreen.integrations._ssrf_fetch_async import AsyncEntry


#: The URL of ``request(method, url, ...)``.
request_url = _ssrf_fetch.argument(1, "url")
#: The URL of ``send(request, ...)`` and ``handle_request(request)``.
sent_url = _ssrf_fetch.argument(0, "request", "url")


def hooks(module):
    """``request`` and ``send`` of both clients, and the request handlers of both HTTP transports."""
    return [
        (module.Client, "request", _ssrf_fetch.Entry("httpx", request_url)),
        (module.Client, "send", _ssrf_fetch.Entry("httpx", sent_url)),
        (module.HTTPTransport, "handle_request", _ssrf_fetch.Entry("httpx", sent_url)),
        (module.AsyncClient, "request", AsyncEntry("httpx", request_url, top=True)),
        (module.AsyncClient, "send", AsyncEntry("httpx", sent_url)),
        (module.AsyncHTTPTransport, "handle_async_request", AsyncEntry("httpx", sent_url)),
    ]


patch, unpatch = _ssrf_fetch.integration(hooks)
