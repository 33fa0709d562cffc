"""Run by ``test_ssrf_sinks`` in a fresh interpreter under the agent: scenarios through every HTTP client.

``python -m tests.protections._ssrf_sinks_child`` puts the stub network in
place, starts the agent (mode and events file from the environment), then
imports the clients, runs every scenario of :data:`SCENARIOS` with each
client that has it, and prints one ``RESULT`` line of JSON: per scenario
and client, what the fetch did (``blocked``, its status or error) and how
many requests the internal server got, with the events of that call.
"""
import json
import os
import sys
import uuid

from six.moves.urllib.parse import urlencode

from tests.protections import _ssrf_clients, _ssrf_net

REDIRECT = "http://public.test:{P}/redirect?to="
#: The clients given a whole URL (a bare http.client connection is given a host and port).
WHOLE = tuple(sorted(set(_ssrf_clients.CLIENTS) - set(["http_client"])))

#: name -> (the value the request carries (None: no request), the URL fetched, proxy, clients (None: all)).
SCENARIOS = {
    "outside": (None, "http://127.0.0.1:{I}/secret", None, None),
    "attack": ("http://127.0.0.1:{I}/secret", "http://127.0.0.1:{I}/secret", None, WHOLE),
    "host": ("localhost:{I}", "http://localhost:{I}/secret", None, None),
    "redirect": (REDIRECT + "http://127.0.0.1:{I}/secret", REDIRECT + "http://127.0.0.1:{I}/secret", None,
                 WHOLE),
    "rebinding": ("http://rebind.test:{I}/secret", "http://rebind.test:{I}/secret", None, WHOLE),
    "rebinding_host": ("rebind.test:{I}", "http://rebind.test:{I}/secret", None, None),
    "public": ("public.test:{P}", "http://public.test:{P}/page", None, None),
    "proxy": ("http://public.test:{P}/page", "http://public.test:{P}/page", "http://127.0.0.1:{I}",
              _ssrf_clients.PROXIED),
    "internal_call": ("ip=127.0.0.1", "http://127.0.0.1:{I}/api?ip=127.0.0.1", None, None),
    # the checks' resolver and peer view fail: the agent logs it and the fetch goes on
    "broken": (REDIRECT + "http://public.test:{P}/page", REDIRECT + "http://public.test:{P}/page", None,
               WHOLE),
}


def _broken(*args):
    raise RuntimeError("a failure inside the agent")


def _in_request(value, rid):
    from sqreen import _request

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/fetch", "QUERY_STRING": urlencode({"x": value}),
               "HTTP_X_REQUEST_ID": rid}
    _request.activate(_request.Request(environ))


def run(client, scenario, ports, internal):
    from sqreen import _request
    from sqreen.instrumentation import RequestBlocked

    value, url, proxy, _ = SCENARIOS[scenario]
    rid = uuid.uuid4().hex
    if value is not None:
        _in_request(value.format(**ports), rid)
    hits = len(internal.hits)
    from sqreen.integrations._ssrf_fetch import NETWORK

    network = dict(NETWORK)
    if scenario == "broken":
        NETWORK.update(resolve=_broken, peer=_broken)
    try:
        outcome = _ssrf_clients.fetch(client, url.format(**ports), proxy and proxy.format(**ports))
    except RequestBlocked:
        outcome = {"blocked": True}
    finally:
        _request.deactivate()
        NETWORK.update(network)
    outcome["internal_hits"] = len(internal.hits) - hits
    outcome["rid"] = rid
    return outcome


def main():
    _ssrf_net.install()
    import sqreen
    from sqreen import _reporter

    assert sqreen.start()
    internal = _ssrf_net.serve(_ssrf_net.INTERNAL_HOST, "internal")
    public = _ssrf_net.serve(_ssrf_net.PUBLIC_HOST, "public")
    ports = {"I": internal.server_address[1], "P": public.server_address[1]}
    only = set(os.environ.get("SSRF_CLIENTS", "").split(",")) - set([""])
    results = {}
    for client in _ssrf_clients.available():
        if only and client not in only:
            continue
        for scenario, (_, _, _, clients) in sorted(SCENARIOS.items()):
            if clients is None or client in clients:
                results["%s/%s" % (scenario, client)] = run(client, scenario, ports, internal)
    _reporter.flush(10)
    events = {}
    path = os.environ["SQREEN_EVENTS_FILE"]
    if os.path.exists(path):
        with open(path) as f:
            for event in (json.loads(line) for line in f if line.strip()):
                events.setdefault((event.get("request") or {}).get("request_id"), []).append(event)
    for outcome in results.values():
        outcome["events"] = [e for e in events.pop(outcome.pop("rid"), []) if e["kind"] == "attack"]
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
