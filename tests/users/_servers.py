"""A test app of this folder in a server process on loopback, the agent configured per test module."""
import os
import subprocess

from six.moves import http_client
from six.moves.urllib.parse import urlencode

from tests.helpers import ROOT
from tests.web.test_servers import Server, free_port


class AppServer(Server):
    """``tests.web``'s server client, serving ``argv`` (port appended), the agent configured by ``env``."""

    def __init__(self, argv, tmpdir, env):  # not Server.__init__, which starts the generic app
        self.kind = " ".join(argv)
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        full_env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "DJANGO_")))
        full_env.update(SQREEN_FORCE_START="1", SQREEN_EVENTS_FILE=self.events_file,
                        USERS_APP_DB=os.path.join(tmpdir, "db.sqlite3"), PYTHONPATH=ROOT)
        full_env.update(env)
        self.port = free_port()
        self.source = None
        self.proc = subprocess.Popen(list(argv) + [str(self.port)], cwd=ROOT, env=full_env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def connection(self, timeout=30):
        source = (self.source, 0) if self.source else None
        return http_client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=source)

    def post_form(self, path, fields, client_ip=None, source=None, headers=None):
        """POST ``fields`` URL-encoded; ``client_ip`` as X-Forwarded-For, ``source`` the local address."""
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "users-tests/1"}
        if client_ip:
            all_headers["X-Forwarded-For"] = client_ip
        all_headers.update(headers or {})
        self.source = source
        try:
            return self.request("POST", path, body=urlencode(sorted(fields.items())), headers=all_headers)
        finally:
            self.source = None

    def all_events(self):
        self.state()  # flushes the app's events
        import json

        with open(self.events_file) as f:
            return [json.loads(line) for line in f if line.strip()]
