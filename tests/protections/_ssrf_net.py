"""A stub network on loopback for the SSRF tests: made-up public names, an internal and a public server.

Nothing here resolves a real name or lets a client reach past loopback:

* :func:`install` puts a guard in place of ``socket.getaddrinfo``: it
  answers for the names of :data:`CLIENT_VIEW` (all on loopback) and for
  loopback or unspecified IP literals, numerically, and refuses anything
  else, so no DNS query and no connection leaves the machine;
* the SSRF checks get their own resolver (:data:`CHECK_VIEW`), where the
  "public" names point at a public address, and their view of a connected
  peer: 127.0.0.2, where the public server listens, counts as that public
  address. ``rebind.test`` is public for the check and loopback for the
  client: a DNS rebinding.

:func:`serve` starts a small HTTP server (``/redirect?to=URL`` answers
302, anything else 200 with the path) and counts the requests it got.
"""
import socket
import threading

from six.moves import BaseHTTPServer, socketserver
from six.moves.urllib.parse import parse_qs, urlsplit

from sqreen.protections import _ipaddr

PUBLIC_ADDRESS = "93.184.215.14"
INTERNAL_HOST = "127.0.0.1"
PUBLIC_HOST = "127.0.0.2"

#: Name -> address, as the checks see them (the "Internet").
CHECK_VIEW = {"public.test": PUBLIC_ADDRESS, "rebind.test": PUBLIC_ADDRESS, "loopback.test": "127.0.0.1"}
#: Name -> address, as the clients see them (this machine).
CLIENT_VIEW = {"public.test": PUBLIC_HOST, "rebind.test": INTERNAL_HOST, "loopback.test": INTERNAL_HOST,
               "localhost": INTERNAL_HOST}

_real_getaddrinfo = socket.getaddrinfo


def _name(host):
    if isinstance(host, bytes):
        host = host.decode("idna")
    return host.lower().rstrip(".").strip("[]")


def _lookup(view, name):
    """``view``'s address for ``name`` or a subdomain of one of its names (``*.localhost`` too)."""
    for known, address in view.items():
        if name == known or name.endswith("." + known):
            return address
    return None


def _numeric(address, port, family, type_, proto, flags):
    return _real_getaddrinfo(address, port, family, type_, proto, flags | socket.AI_NUMERICHOST)


def guard(host, port, family=0, type=0, proto=0, flags=0):
    """``socket.getaddrinfo`` on the stub network: loopback answers only, never a DNS query."""
    if host is None:
        return _real_getaddrinfo(host, port, family, type, proto, flags)
    name = _name(host)
    address = _lookup(CLIENT_VIEW, name)
    if address is not None:
        return _numeric(address, port, family, type, proto, flags)
    literal = _ipaddr.classify_literal(name)
    if literal is not None and literal[0] in ("loopback", "unspecified"):
        return _numeric(name, port, family, type, proto, flags)
    raise socket.gaierror(socket.EAI_NONAME, "not on the stub network: %r" % (host,))


def check_resolve(host, port, *args):
    """The checks' resolver: :data:`CHECK_VIEW`, refusing every other name."""
    address = _lookup(CHECK_VIEW, _name(host))
    if address is None:
        raise socket.gaierror(socket.EAI_NONAME, "unknown on the stub network: %r" % (host,))
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


def check_peer(address):
    """How the checks see a connected peer: the public server's loopback address is public."""
    return PUBLIC_ADDRESS if address == PUBLIC_HOST else address


def install():
    """Put the stub network in place in this process (for good: it is a test process)."""
    from sqreen.integrations import _ssrf_fetch

    socket.getaddrinfo = guard
    _ssrf_fetch.NETWORK.update(resolve=check_resolve, peer=check_peer)


class _Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        query = parse_qs(urlsplit(self.path).query)
        if urlsplit(self.path).path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = ("%s %s" % (self.server.name, self.path)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, BaseHTTPServer.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer's own asks getfqdn() for the name: a reverse DNS query for 127.0.0.2
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def serve(host, name):
    """An HTTP server on ``host`` (a free port) in a daemon thread; ``.hits`` lists the paths it served."""
    server = _Server((host, 0), _Handler)
    server.name = name
    server.hits = []
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    return server
