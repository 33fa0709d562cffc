"""A Flask app that fetches a URL built from a request value with a chosen HTTP client, under the agent.

``python -m tests.protections._ssrf_app INTERNAL_PORT PUBLIC_PORT`` puts
the stub network of ``_ssrf_net`` in place (so no client reaches past
loopback), starts the agent (configured by the environment), then serves
on a free loopback port with the demo's wsgiref server and prints
``LISTENING <port>``.

``/fetch?x=VALUE&t=TEMPLATE&c=CLIENT`` builds the URL with
``ssrf_corpus.TEMPLATES[TEMPLATE]`` and fetches it with ``CLIENT`` (see
``_ssrf_clients``); it answers JSON: the upstream status and the start of
its body, or the client's error. ``/clients`` lists the clients this
interpreter has.
"""
import json
import signal
import sys

import flask

from tests.protections import _ssrf_clients, _ssrf_net, ssrf_corpus

app = flask.Flask(__name__)


@app.route("/fetch")
def fetch_view():
    args = flask.request.args
    url = ssrf_corpus.url(args["t"], args["x"], app.config["PORTS"])
    return json.dumps(_ssrf_clients.fetch(args["c"], url))


@app.route("/clients")
def clients_view():
    return json.dumps(_ssrf_clients.available())


def _stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)  # exit handlers (the agent's last flush) run


def main(argv):
    import sqreen
    from sqreen._demo_app import serve

    app.config["PORTS"] = {"I": argv[1], "P": argv[2]}
    _ssrf_net.install()
    assert sqreen.start()
    signal.signal(signal.SIGTERM, _stop)
    serve(app, 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
