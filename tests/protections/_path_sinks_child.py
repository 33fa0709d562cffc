"""Run by ``test_path_sinks`` in a fresh interpreter: every file sink, attacked and not, under the agent.

``main(tmpdir)`` starts the agent (mode from ``SQREEN_MODE``), then for each
scenario makes a request current by hand, calls the real sink and records
whether the call ran or was blocked and whether the harm happened (a file
outside the public directory read, overwritten, moved or removed). It
prints one ``RESULT`` line of JSON: the scenarios and every attack event.
"""
from __future__ import print_function

import io
import json
import os
import shutil
import sys

import sqreen

SECRET = u"TOP SECRET"


def _write(path, text=SECRET):
    with io.open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _read(path):
    with io.open(path, encoding="utf-8") as f:
        return f.read()


def _intact(path):
    return os.path.exists(path) and _read(path) == SECRET


def _scenarios(root, base):
    """(name, value, call(value) -> harm done) for each sink: ``value`` is the request input."""

    def victim(name):
        path = os.path.join(root, name)
        _write(path)
        return path

    def upload():
        path = os.path.join(base, "upload.tmp")
        _write(path, u"uploaded")
        return path

    def inside(value):
        return base + "/" + value

    def read_open(value):
        with open(inside(value)) as f:
            return f.read() == SECRET

    def read_io_open(value):
        with io.open(inside(value), "rb") as f:
            return f.read() == SECRET.encode()

    def read_os_open(value):
        fd = os.open(inside(value), os.O_RDONLY)
        try:
            return os.read(fd, 100) == SECRET.encode()
        finally:
            os.close(fd)

    def removing(function, name):
        def call(value):
            target = victim(name)
            function(inside(value))
            return not os.path.exists(target)

        return call

    def overwriting(function, name):
        def call(value):
            target = victim(name)
            function(upload(), inside(value))
            return not _intact(target)

        return call

    def copytree(value):
        secrets = os.path.join(root, "private")
        if not os.path.isdir(secrets):
            os.mkdir(secrets)
            _write(os.path.join(secrets, "key.pem"))
        destination = os.path.join(base, "copied")
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(inside(value), destination)
        return os.path.exists(os.path.join(destination, "key.pem"))

    def move(value):
        target = victim("moved.txt")
        shutil.move(inside(value), os.path.join(base, "stolen.txt"))
        return not os.path.exists(target)

    scenarios = [
        ("open", "../secret.txt", read_open),
        ("io.open", "../secret.txt", read_io_open),
        ("os.open", "../secret.txt", read_os_open),
        ("os.remove", "../removed.txt", removing(os.remove, "removed.txt")),
        ("os.unlink", "../unlinked.txt", removing(os.unlink, "unlinked.txt")),
        ("os.rename", "../renamed.txt", overwriting(os.rename, "renamed.txt")),
        ("shutil.copy", "../copied.txt", overwriting(shutil.copy, "copied.txt")),
        ("shutil.copy2", "../copied2.txt", overwriting(shutil.copy2, "copied2.txt")),
        ("shutil.copyfile", "../copyfile.txt", overwriting(shutil.copyfile, "copyfile.txt")),
        ("shutil.copytree", "../private", copytree),
        ("shutil.move", "../moved.txt", move),
    ]
    if sys.version_info[0] >= 3:
        import pathlib

        def path_of(value):
            return pathlib.Path(base) / value

        def path_open(value):
            with path_of(value).open() as f:
                return f.read() == SECRET

        def path_writing(method, data, name):
            def call(value):
                target = victim(name)
                getattr(path_of(value), method)(data)
                return not _intact(target)

            return call

        scenarios += [
            ("pathlib.Path.open", "../secret.txt", path_open),
            ("pathlib.Path.read_text", "../secret.txt", lambda value: path_of(value).read_text() == SECRET),
            ("pathlib.Path.read_bytes", "../secret.txt",
             lambda value: path_of(value).read_bytes() == SECRET.encode()),
            ("pathlib.Path.write_text", "../written.txt",
             path_writing("write_text", u"pwned", "written.txt")),
            ("pathlib.Path.write_bytes", "../written_b.txt",
             path_writing("write_bytes", b"pwned", "written_b.txt")),
        ]
    return scenarios


def _in_request(value, request_id):
    from six.moves.urllib.parse import quote

    from sqreen import _request

    _request.activate(_request.Request({
        "REQUEST_METHOD": "GET", "PATH_INFO": "/files", "QUERY_STRING": "name=" + quote(value, safe=""),
        "HTTP_X_REQUEST_ID": request_id, "HTTP_ACCEPT": "*/*"}))


def _run(call, value, request_id):
    from sqreen import _request
    from sqreen.instrumentation import RequestBlocked

    _in_request(value, request_id)
    try:
        harm = call(value)
        outcome = "ran"
    except RequestBlocked:
        harm, outcome = False, "blocked"
    except Exception as exc:
        harm, outcome = False, "error: %r" % (exc,)
    finally:
        _request.deactivate()
    return outcome, harm


def _benign_value(value):
    """A look-alike of an attack input that stays in the public directory."""
    return "sub/.." + value[2:] if value.startswith("../") else value


def main(tmpdir):
    assert sqreen.start()
    from sqreen import _reporter

    root = os.path.join(tmpdir, "root")
    base = os.path.join(root, "public")
    os.makedirs(os.path.join(base, "sub"))
    _write(os.path.join(root, "secret.txt"))
    results = []
    for name, value, call in _scenarios(root, base):
        outcome, harm = _run(call, value, "attack " + name)
        results.append({"sink": name, "kind": "attack", "outcome": outcome, "harm": harm})
        benign = _benign_value(value)
        target = os.path.join(base, benign.split("/")[-1])
        if name != "shutil.copytree":
            _write(target)
        else:
            os.mkdir(target)
        outcome, _ = _run(call, benign, "benign " + name)
        results.append({"sink": name, "kind": "benign", "outcome": outcome})
    # Outside a request nothing is checked.
    with open(base + "/../secret.txt") as f:
        outside = f.read() == SECRET
    # The agent's own calls are never checked (its caller is a sqreen module).
    own = {"__name__": "sqreen._probe", "path": base + "/../secret.txt"}
    source = u"result = open(path).read() == %r" % SECRET
    outcome, harm = _run(lambda value: exec_(source, own) or own["result"], "../secret.txt", "agent")
    _reporter.flush(10)
    with open(os.environ["SQREEN_EVENTS_FILE"]) if os.path.exists(os.environ["SQREEN_EVENTS_FILE"]) \
            else io.StringIO(u"") as f:
        events = [json.loads(line) for line in f if line.strip()]
    attacks = [e for e in events if e.get("kind") == "attack"]
    print("RESULT " + json.dumps({"results": results, "outside": outside, "agent": [outcome, harm],
                                  "events": attacks}))


def exec_(source, namespace):
    """``exec`` on 2.7 and 3 (the statement on one, the function on the other)."""
    code = compile(source, "<agent code>", "exec")
    eval(code, namespace)
