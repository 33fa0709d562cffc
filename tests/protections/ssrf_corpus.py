"""SSRF inputs for the sink tests: attacks that reach loopback, and look-alikes that must pass.

Each case is ``(template, value)``: the app builds the URL it fetches with
``TEMPLATES[template]`` from the request value. ``{I}`` stands for the port
of the internal server (127.0.0.1) and ``{P}`` for the port of the "public"
one (127.0.0.2, which the stub network shows the checks as a public
address; see ``_ssrf_net``). Every URL here reaches loopback at most: no
case may make a client connect anywhere else.
"""

#: How the app builds the URL from the value ``x``.
TEMPLATES = {
    "w": "{x}",  # the whole URL is the input
    "h": "http://{x}/secret",  # host (and port)
    "n": "http://127.0.0.1:{x}/secret",  # the port only, of an internal host
    "o": "http://public.test:{x}/page",  # the port only, of a public host
    "q": "http://127.0.0.1:{I}/api?q={x}",  # a query parameter of the app's own internal call
    "p": "http://127.0.0.1:{I}/files/{x}",  # a path segment of it
    "s": "http://{x}.public.test:{P}/page",  # a label of a public name, not the host's end
}

REDIRECT = "http://public.test:{P}/redirect?to="

ATTACKS = [
    ("w", "http://127.0.0.1:{I}/secret"),
    ("w", "http://localhost:{I}/secret"),
    ("w", "http://LOCALHOST:{I}/secret"),
    ("w", "http://2130706433:{I}/secret"),
    ("w", "http://0x7f000001:{I}/secret"),
    ("w", "http://017700000001:{I}/secret"),
    ("w", "http://0177.0.0.1:{I}/secret"),
    ("w", "http://0x7f.1:{I}/secret"),
    ("w", "http://0x7f.0x0.0x0.0x1:{I}/secret"),
    ("w", "http://127.1:{I}/secret"),
    ("w", "http://127.0.1:{I}/secret"),
    ("w", "http://127.127.127.127:{I}/secret"),
    ("w", "http://0:{I}/secret"),
    ("w", "http://0.0.0.0:{I}/secret"),
    ("w", "http://[::1]:{I}/secret"),
    ("w", "http://[::ffff:127.0.0.1]:{I}/secret"),
    ("w", "http://[::ffff:7f00:1]:{I}/secret"),
    ("w", "http://127.0.0.1.:{I}/secret"),
    ("w", "http://user:pw@127.0.0.1:{I}/secret"),
    ("w", "http://admin.localhost:{I}/secret"),
    ("w", "http://loopback.test:{I}/secret"),  # a name that resolves to loopback
    ("w", "file:///etc/passwd"),
    ("w", "FILE:///etc/hostname"),
    ("w", "gopher://127.0.0.1:{I}/_INFO"),
    ("w", "dict://127.0.0.1:{I}/stat"),
    ("w", REDIRECT + "http://127.0.0.1:{I}/secret"),
    ("w", REDIRECT + "http://localhost:{I}/secret"),
    ("w", REDIRECT + "http://2130706433:{I}/secret"),
    ("w", REDIRECT + "http://public.test:{P}/redirect%3Fto%3Dhttp://127.0.0.1:{I}/secret"),
    ("h", "127.0.0.1:{I}"),
    ("h", "localhost:{I}"),
    ("h", "[::1]:{I}"),
    ("h", "2130706433:{I}"),
    ("h", "loopback.test:{I}"),
    ("n", "{I}"),
]

#: Attacks only the address actually connected gives away (DNS rebinding): the check's resolver
#: answers public, the client's answers loopback.
REBINDING = [
    ("w", "http://rebind.test:{I}/secret"),
    ("h", "rebind.test:{I}"),
]

BENIGN = [
    ("w", "http://public.test:{P}/page"),
    ("w", "HTTP://PUBLIC.TEST:{P}/page"),
    ("w", "http://public.test:{P}/127.0.0.1"),
    ("w", "http://public.test:{P}/localhost/admin"),
    ("w", "http://public.test:{P}/page?host=127.0.0.1"),
    ("w", "http://public.test:{P}/page?next=http://localhost/"),
    ("w", "http://public.test:{P}/page#127.0.0.1"),
    ("w", "http://public.test:{P}/page?url=file:///etc/passwd"),
    ("w", "http://public.test:{P}/page?u=gopher://127.0.0.1"),
    ("w", "http://public.test:{P}/0x7f000001"),
    ("w", "http://public.test:{P}/page?q=2130706433"),
    ("w", "http://public.test:{P}/%31%32%37.0.0.1"),
    ("w", "http://public.test:{P}/api/v1/items?ip=10.0.0.1"),
    ("w", "http://public.test:{P}/page?a=169.254.169.254"),
    ("w", "http://cdn.public.test:{P}/page"),
    ("w", "http://localhost.public.test:{P}/page"),
    ("w", "http://127.0.0.1.public.test:{P}/page"),
    ("w", "http://metadata.public.test:{P}/latest/meta-data/"),
    ("w", "http://public.test:{P}/page?x=1&y=localhost"),
    ("w", REDIRECT + "http://public.test:{P}/page"),
    ("w", REDIRECT + "http://cdn.public.test:{P}/page?from=127.0.0.1"),
    ("o", "{P}"),
    ("q", "localhost"),
    ("q", "host=127.0.0.1"),
    ("q", "http://127.0.0.1/"),
    ("q", "file:///etc/passwd"),
    ("q", "2130706433"),
    ("q", "gopher://x"),
    ("q", "169.254.169.254"),
    ("q", "http://localhost:8080/admin"),
    ("q", "10.0.0.1"),
    ("q", "0x7f000001"),
    ("q", "dict://127.0.0.1:11211/"),
    ("q", "user@127.0.0.1"),
    ("q", "::1"),
    ("q", "metadata.google.internal"),
    ("p", "127.0.0.1.html"),
    ("p", "localhost"),
    ("p", "etc/passwd"),
    ("p", "10.0.0.1"),
    ("p", "report-localhost.pdf"),
    ("p", "0x7f000001"),
    ("p", "2130706433.txt"),
    ("s", "127.0.0.1"),
    ("s", "localhost"),
    ("s", "internal"),
    ("s", "2130706433"),
    ("s", "10.0.0.1"),
    ("s", "metadata"),
    ("s", "0x7f000001"),
]


def url(template, value, ports):
    """The URL the app fetches for ``value`` (``ports``: ``{"I": internal, "P": public}``)."""
    return TEMPLATES[template].format(x=value, **ports)


def value(raw, ports):
    """The request value, with the ports filled in."""
    return raw.format(**ports)
