"""A Flask app that runs shell commands built from a request value, served under the agent.

``python -m tests.protections._shell_app`` starts the agent (configured by
the environment), then serves on a free loopback port with the demo's
wsgiref server and prints ``LISTENING <port>``. The commands are harmless
(``printf``), run in the working directory the test chose, where an
injected ``touch`` leaves its mark.

``/run/<sink>/<template>`` reads the value ``x`` from the JSON body, the
form, the query string or the ``X-Value`` header, builds the command with
``template`` and runs it through ``sink``. ``/cgi`` hands the ``X-Value``
header to a program in its environment, as CGI does.
"""
import os
import signal
import subprocess
import sys

import flask
from six.moves import shlex_quote

#: How the command is built: a string for a shell, or an argument list.
TEMPLATES = {
    "plain": lambda x: "printf '%s\\n' " + x,
    "dq": lambda x: "printf '%s\\n' \"" + x + "\"",
    "sq": lambda x: "printf '%s\\n' '" + x + "'",
    "quoted": lambda x: "printf '%s\\n' " + shlex_quote(x),
    "argv": lambda x: ["printf", "%s\\n", x],
}


def _text(out):
    return out.decode("utf-8", "replace") if isinstance(out, bytes) else out


def _popen(command):
    proc = subprocess.Popen(command, shell=not isinstance(command, list), stdout=subprocess.PIPE)
    return _text(proc.communicate()[0])


def _getoutput(command):
    if hasattr(subprocess, "getoutput"):
        return subprocess.getoutput(command) + "\n"
    import commands  # Python 2.7

    return commands.getoutput(command) + "\n"


def _spawn(command):
    os.spawnl(os.P_WAIT, "/bin/sh", "sh", "-c", command)
    return "spawned"


def _run(command):
    run = getattr(subprocess, "run", subprocess.call)  # Python 2.7 has no run()
    run(command, shell=not isinstance(command, list))
    return "ran"


#: Sink name -> function(command) returning the command's output (or a word).
SINKS = {
    "check_output": lambda c: _text(subprocess.check_output(c, shell=not isinstance(c, list))),
    "call": lambda c: str(subprocess.call(c, shell=not isinstance(c, list))),
    "run": _run,
    "Popen": _popen,
    "system": lambda c: str(os.system(c)),
    "popen": lambda c: os.popen(c).read(),
    "getoutput": _getoutput,
    "spawn": _spawn,
}

app = flask.Flask(__name__)


def _value():
    request = flask.request
    data = request.get_json(silent=True) if request.is_json else None
    if data:
        return data["x"]
    for source in (request.form, request.args):
        if "x" in source:
            return source["x"]
    return request.headers.get("X-Value")


@app.route("/run/<sink>/<template>", methods=["GET", "POST"])
def run(sink, template):
    return SINKS[sink](TEMPLATES[template](_value()))


@app.route("/cgi")
def cgi():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HTTP_X_VALUE": flask.request.headers["X-Value"]}
    return _text(subprocess.check_output(["printf", "ok"], env=env))


def _stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)  # exit handlers (the agent's last flush) run


def main():
    import sqreen
    from sqreen._demo_app import serve

    assert sqreen.start()
    signal.signal(signal.SIGTERM, _stop)
    serve(app, 0)


if __name__ == "__main__":
    sys.exit(main())
