"""SSRF end to end: a Flask app fetching URLs with every HTTP client, on a real server under the agent.

The app (``_ssrf_app``, wsgiref on loopback) builds a URL from a query
value and fetches it with urllib, requests, urllib3, httpx (sync and
async), aiohttp or a bare http.client connection. Two stub servers stand
for the network: an internal one on 127.0.0.1 and a "public" one on
127.0.0.2 that the stub network (``_ssrf_net``) shows the checks as a
public address; the clients can reach nothing else. Each attack of
``ssrf_corpus`` makes one event naming the input and the client; in block
mode the answer is 403 and the internal server got no request. Benign
values are fetched (200 from the stub server) and make no event.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest
from six.moves.urllib.parse import urlencode

from tests.helpers import ROOT
from tests.protections import _ssrf_net
from tests.protections.ssrf_corpus import ATTACKS, BENIGN, REBINDING, REDIRECT, value
from tests.web.test_servers import Server

pytest.importorskip("flask")

#: Clients that are handed a host, not a URL: only the cases whose input is not the whole URL.
HOST_ONLY = ("http_client",)
#: Clients where the address actually connected is out of the agent's reach (see integrations.httpx).
NO_PEER_CHECK = ("httpx", "httpx_async")
#: Without context variables (3.6) the asyncio clients check the URL they are given only: no redirect.
URL_ONLY = ("aiohttp", "httpx_async") if sys.version_info < (3, 7) else ()
#: Client -> the sink its events name.
SINKS = {"urllib": "urllib.request" if sys.version_info[0] >= 3 else "urllib2", "requests": "requests",
         "urllib3": "urllib3", "httpx": "httpx", "httpx_async": "httpx", "aiohttp": "aiohttp",
         "http_client": "http.client" if sys.version_info[0] >= 3 else "httplib"}


class SsrfServer(Server):
    """``_ssrf_app`` under the agent in ``mode``."""

    def __init__(self, mode, tmpdir, ports):
        self.kind = "wsgiref"
        self.mode = mode
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
        env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=self.events_file,
                   PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.protections._ssrf_app", ports["I"],
                                      ports["P"]], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode("ascii")
        assert line.startswith("LISTENING "), self.output()
        self.port = int(line.split()[1])

    def fetch(self, client, template, x):
        """``(request id, status, answer)`` of /fetch: ``x`` made a URL by ``template`` for ``client``."""
        rid = uuid.uuid4().hex
        path = "/fetch?" + urlencode([("x", x), ("t", template), ("c", client)])
        status, _, body = self.request("GET", path, headers={"X-Request-Id": rid})
        answer = json.loads(body.decode("utf-8")) if status == 200 else body.decode("utf-8", "replace")
        return rid, status, answer

    def all_events(self):
        """Every event, by request id, once the server has exited (SIGTERM: it flushes on the way out)."""
        self.stop()
        self.proc.stdout.close()
        by_id = {}
        if os.path.exists(self.events_file):
            with open(self.events_file) as f:
                for event in (json.loads(line) for line in f if line.strip()):
                    by_id.setdefault((event.get("request") or {}).get("request_id"), []).append(event)
        return by_id


@pytest.fixture(scope="module")
def network():
    internal = _ssrf_net.serve(_ssrf_net.INTERNAL_HOST, "internal")
    public = _ssrf_net.serve(_ssrf_net.PUBLIC_HOST, "public")
    yield {"I": str(internal.server_address[1]), "P": str(public.server_address[1]), "internal": internal}
    for server in (internal, public):
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["monitor", "block"])
def server(request, tmpdir, network):
    srv = SsrfServer(request.param, str(tmpdir), network)
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def _cases(cases, client):
    return [(t, raw) for t, raw in cases if not (client in HOST_ONLY and t == "w")]


def _refused_redirect(x, found, answer, internal_hits):
    """A redirect the client itself would not follow (httpx < 0.28 rejects a decimal IPv4 host): no SSRF."""
    return "/redirect?to=" in x and not found and "error" in answer and internal_hits == 0


def test_attacks_and_benign_values_through_every_client(server, network):
    ports = dict((k, network[k]) for k in ("I", "P"))
    internal = network["internal"]
    clients = json.loads(server.request("GET", "/clients")[2].decode("utf-8"))
    assert "urllib" in clients and "requests" in clients, clients
    attacks, benign = [], []
    for client in clients:
        rebinding = [] if client in NO_PEER_CHECK + URL_ONLY else REBINDING
        for template, raw in _cases(ATTACKS + rebinding, client):
            if client in URL_ONLY and raw.startswith(REDIRECT):
                continue
            x = value(raw, ports)
            hits = len(internal.hits)
            rid, status, answer = server.fetch(client, template, x)
            attacks.append((rid, client, template, x, status, answer, len(internal.hits) - hits))
        for template, raw in _cases(BENIGN, client):
            x = value(raw, ports)
            benign.append((client, template, x) + server.fetch(client, template, x))
    events = server.all_events()
    blocking = server.mode == "block"
    wrong, refused = [], []
    for rid, client, template, x, status, answer, internal_hits in attacks:
        found = [e for e in events.get(rid, []) if e["kind"] == "attack"]
        ok = len(found) == 1 and found[0]["attack_type"] == "ssrf" and found[0]["blocked"] == blocking \
            and found[0]["input"] == {"source": "query", "name": "x", "value": x} \
            and found[0]["detail"]["sink"] == SINKS[client]
        ok = ok and ((status == 403 and internal_hits == 0) if blocking else status == 200)
        if not ok and _refused_redirect(x, found, answer, internal_hits):
            refused.append((client, x))
        elif not ok:
            wrong.append(("attack", client, template, x, status, answer, internal_hits, found))
    for client, template, x, rid, status, answer in benign:
        if status != 200 or answer.get("status") != 200 or events.get(rid):
            wrong.append(("benign", client, template, x, status, answer, events.get(rid)))
    assert not wrong, "\n".join(repr(item) for item in wrong) + server.output()
    assert len(refused) <= 2 * len(clients), refused
    url_clients = len(clients) - len(HOST_ONLY)
    assert len(attacks) >= 30 * url_clients and len(benign) >= 50 * url_clients
