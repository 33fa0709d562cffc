"""http.client (httplib on Python 2.7): where every HTTP connection of urllib, and of the app, is made.

``HTTPConnection.connect`` (which ``HTTPSConnection.connect`` calls before
its TLS handshake) is hooked. Called inside a fetch another integration
started (urllib), it is not a fetch of its own: once the socket is
connected, the address it reached is judged for a fetch an input steered,
before a byte of the request is sent (see ``_ssrf_fetch``: this is what
catches a name rebound between the check and the connection). Called by
the application directly, the connection's scheme, host and port are
checked as the URL ``scheme://host:port/`` before it connects.

Known gap: a connection the application opened before the request began
(kept alive) is never checked again.
"""
from __future__ import absolute_import

from sqreen.integrations import _ssrf_fetch


def url_of(instance, args, kwargs):
    """``scheme://host:port/`` of the place the connection goes (the tunnel's target behind a proxy)."""
    scheme = "https" if getattr(instance, "default_port", 80) == 443 else "http"
    tunnel = getattr(instance, "_tunnel_host", None)
    if tunnel:
        return _ssrf_fetch.hop_url(scheme, tunnel, getattr(instance, "_tunnel_port", None))
    return _ssrf_fetch.hop_url(scheme, instance.host, instance.port)


def socket_of(instance, result):
    return getattr(instance, "sock", None)


def hooks(module):
    """``HTTPConnection.connect`` of ``http.client`` or ``httplib``."""
    return [(module.HTTPConnection, "connect", _ssrf_fetch.Connection(module.__name__, url_of, socket_of))]


patch, unpatch = _ssrf_fetch.integration(hooks)
