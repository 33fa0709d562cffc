"""Starting a test app in its own process under the agent, as the end-to-end tests of the protections do."""
import json
import os
import subprocess

from tests.helpers import ROOT


def agent_env(mode, events_file, **extra):
    """This environment without ``SQREEN_*``, plus an agent forced on in ``mode`` writing ``events_file``.

    The repository leads ``PYTHONPATH``, so the child imports this checkout.
    """
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    path = [ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=events_file,
               PYTHONPATH=os.pathsep.join(path))
    env.update(extra)
    return env


def start_listening(command, env, log, cwd=ROOT):
    """Start ``command``, which prints ``LISTENING <port>`` once it serves; ``(process, port)``."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log)
    line = proc.stdout.readline().decode("ascii")
    if not line.startswith("LISTENING "):
        proc.kill()
        proc.wait()
        log.flush()
        with open(log.name, "rb") as f:
            raise AssertionError("the app did not start:\n" + f.read().decode("utf-8", "replace"))
    return proc, int(line.split()[1])


def events_by_request(events_file):
    """The events written to ``events_file``, as ``{request id: [event, ...]}`` (None: outside a request)."""
    by_id = {}
    if os.path.exists(events_file):
        with open(events_file) as f:
            for event in (json.loads(line) for line in f if line.strip()):
                by_id.setdefault((event.get("request") or {}).get("request_id"), []).append(event)
    return by_id
