"""requests: ``Session.request`` and ``Session.send`` are checked for SSRF.

``Session.request`` (``requests.get`` and friends) sees the URL as the
application wrote it: that is the fetch, checked before anything is
prepared. ``Session.send`` sends every request, the redirects requests
follows included (``resolve_redirects`` calls it for each): inside the
fetch each is a hop whose host is judged before urllib3 connects; called
by the application with a prepared request, it is the fetch. The sockets
come from urllib3, whose integration judges the address each one reached.
"""
from __future__ import absolute_import

from sqreen.integrations import _ssrf_fetch, urllib3


#: The URL of ``send(request, ...)``.
sent_url = _ssrf_fetch.argument(0, "request", "url")


def hooks(module):
    """``Session.request`` and ``Session.send`` of ``requests``."""
    session = module.sessions.Session
    return [(session, "request", _ssrf_fetch.Entry("requests", urllib3.url_of)),
            (session, "send", _ssrf_fetch.Entry("requests", sent_url))]


patch, unpatch = _ssrf_fetch.integration(hooks)
