"""SSRF through the real HTTP clients, under the agent in a fresh interpreter, on the stub loopback network.

Each mode runs ``_ssrf_sinks_child`` once: every scenario with every
client this interpreter has (urllib / urllib2, requests, urllib3, httpx
sync and async, aiohttp, a bare http.client connection). An attack makes
exactly one event naming the client; in block mode the client raises
``RequestBlocked`` and the internal server gets no request (a redirect is
stopped before it is followed, a rebound name before the request is
sent). Outside a request nothing is checked; a public fetch, a fetch
through a proxy on an internal address, the app's own internal call with
an input in its query and a fetch whose checks fail inside the agent make
no event, and the fetch goes on.
"""
import json
import os
import sys

import pytest

from tests.helpers import run_python

SINKS = {"urllib": "urllib.request" if sys.version_info[0] >= 3 else "urllib2", "requests": "requests",
         "urllib3": "urllib3", "httpx": "httpx", "httpx_async": "httpx", "aiohttp": "aiohttp",
         "http_client": "http.client" if sys.version_info[0] >= 3 else "httplib"}
#: Scenario -> the reason its event gives, for an attack.
ATTACKS = {"attack": "internal address (loopback)", "host": "internal address (loopback)",
           "redirect": "redirect to internal address (loopback)",
           "rebinding": "connected to internal address (loopback)",
           "rebinding_host": "connected to internal address (loopback)"}
#: Where the connected address is out of reach (see integrations.httpx).
NO_PEER_CHECK = ("httpx", "httpx_async")
#: Without context variables (3.6) the asyncio clients check the URL they are given only.
URL_ONLY = ("aiohttp", "httpx_async") if sys.version_info < (3, 7) else ()


def results(tmpdir, mode):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode,
               SQREEN_EVENTS_FILE=os.path.join(str(tmpdir), "events.jsonl"))
    _, out, err = run_python("from tests.protections._ssrf_sinks_child import main; main()", env=env,
                             timeout=120)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, (out, err)
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module", params=["monitor", "block"])
def mode_results(request, tmpdir_factory):
    return request.param, results(tmpdir_factory.mktemp(request.param), request.param)


def _by(found, scenario):
    split = [(key.split("/"), outcome) for key, outcome in found.items()]
    return dict((client, outcome) for (name, client), outcome in split if name == scenario)


def test_every_client_is_covered(mode_results):
    _, found = mode_results
    clients = set(_by(found, "attack")) | set(_by(found, "host"))
    assert {"urllib", "requests", "urllib3", "http_client"} <= clients
    if sys.version_info >= (3, 8):
        assert {"httpx", "httpx_async", "aiohttp"} <= clients, clients


@pytest.mark.parametrize("scenario", sorted(ATTACKS))
def test_an_attack_makes_one_event_and_is_stopped_in_block_mode(mode_results, scenario):
    mode, found = mode_results
    wrong = []
    for client, outcome in sorted(_by(found, scenario).items()):
        if scenario in ("redirect", "rebinding", "rebinding_host") and client in URL_ONLY:
            if outcome["events"] or outcome.get("status") != 200:
                wrong.append((client, outcome))
            continue
        if scenario.startswith("rebinding") and client in NO_PEER_CHECK:
            # the known gap: the address httpx connects to is not seen
            if outcome["events"] or outcome.get("status") != 200:
                wrong.append((client, outcome))
            continue
        events = outcome["events"]
        ok = len(events) == 1 and events[0]["detail"]["sink"] == SINKS[client] \
            and events[0]["detail"]["reason"] == ATTACKS[scenario] \
            and events[0]["blocked"] == (mode == "block")
        if mode == "block":
            ok = ok and outcome.get("blocked") and outcome["internal_hits"] == 0
        else:
            ok = ok and outcome.get("status") == 200 and outcome["internal_hits"] == 1
        if not ok:
            wrong.append((client, outcome))
    assert not wrong


@pytest.mark.parametrize("scenario", ["outside", "public", "proxy", "internal_call", "broken"])
def test_no_event_and_the_fetch_goes_on(mode_results, scenario):
    _, found = mode_results
    outcomes = _by(found, scenario)
    assert outcomes
    wrong = [(client, outcome) for client, outcome in sorted(outcomes.items())
             if outcome["events"] or outcome.get("status") != 200]
    assert not wrong
    if scenario == "proxy":  # the internal server was the proxy: every request went through it
        assert all(outcome["internal_hits"] == 1 for outcome in outcomes.values())
