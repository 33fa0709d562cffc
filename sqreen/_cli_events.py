"""``sqreen events [FILE]``: read an events file written by the reporter.

Prints a summary (counts by kind and by attack type, top client IPs and
paths, the last N events), or the same as one JSON document with
``--json``; ``--follow`` prints events as they are appended, like
``tail -f``, and carries on across rotation and truncation. Corrupt lines
(a worker killed mid-write, a full disk) are counted and skipped. A file
that cannot be read is a one-line error and exit status 2.

The ``sqreen`` command dispatches here: ``main(argv)`` returns the exit code.
"""
import argparse
import collections
import io
import json
import os
import sys
import time

import six

DEFAULT_FILE = "sqreen-events.jsonl"
TOP = 10


def build_parser():
    parser = argparse.ArgumentParser(prog="sqreen events", description="Summarise a sqreen events file.")
    parser.add_argument("file", nargs="?", default=DEFAULT_FILE,
                        help="JSON-lines events file (default: %(default)s; - reads stdin)")
    parser.add_argument("-n", type=int, default=10, metavar="N", help="show the last N events (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--follow", "-f", action="store_true", help="print new events as they arrive")
    parser.add_argument("--interval", type=float, default=0.25, help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    """Run the command with ``argv`` (without the program name); return the exit code."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        stream = _open(args.file)
    except (IOError, OSError) as exc:
        _write(sys.stderr, "sqreen events: cannot read %s: %s\n" % (args.file, exc.strerror or exc))
        return 2
    try:
        with stream:
            summary = summarise(stream, max(0, args.n))
            if args.follow:
                offset = stream.tell() if args.file != "-" else None
    except (IOError, OSError) as exc:
        _write(sys.stderr, "sqreen events: cannot read %s: %s\n" % (args.file, exc.strerror or exc))
        return 2
    if args.follow:
        for event in summary["last"]:
            _show(event, args.json)
        if offset is None:
            return 0
        try:
            follow(args.file, offset, lambda event: _show(event, args.json), interval=args.interval)
        except KeyboardInterrupt:
            pass
        return 0
    if args.json:
        _write(sys.stdout, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    else:
        _write(sys.stdout, render(summary, args.file))
    return 0


def _open(path):
    if path == "-":
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    return io.open(path, "rb")


def parse_line(raw):
    """The event on ``raw`` (bytes), or None when the line is corrupt."""
    try:
        event = json.loads(raw.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return None
    return event if isinstance(event, dict) else None


def summarise(stream, last_n):
    """Counts over every event of ``stream`` (binary lines) and its last events."""
    kinds, attacks, ips, paths = (collections.Counter() for _ in range(4))
    last = collections.deque(maxlen=last_n or None)
    total = corrupt = 0
    first_ts = last_ts = None
    for raw in stream:
        if not raw.strip():
            continue
        event = parse_line(raw)
        if event is None:
            corrupt += 1
            continue
        total += 1
        kind = event.get("kind")
        kinds[_key(kind)] += 1
        if kind == "attack":
            attacks[_key(event.get("attack_type"))] += 1
        request = event.get("request")
        if isinstance(request, dict):
            if request.get("client_ip"):
                ips[_key(request["client_ip"])] += 1
            if request.get("path"):
                paths[_key(request["path"])] += 1
        stamp = event.get("timestamp")
        if isinstance(stamp, six.string_types):
            first_ts = first_ts or stamp
            last_ts = stamp
        if last_n:
            last.append(event)
    return {
        "events": total,
        "corrupt_lines": corrupt,
        "first": first_ts,
        "last_timestamp": last_ts,
        "by_kind": dict(kinds),
        "attack_types": dict(attacks),
        "top_client_ips": [list(p) for p in ips.most_common(TOP)],
        "top_paths": [list(p) for p in paths.most_common(TOP)],
        "last": list(last),
    }


def _key(value):
    return value if isinstance(value, six.string_types) else json.dumps(value)


def render(summary, path):
    """The human-readable summary."""
    out = ["%s: %d events" % (path, summary["events"])]
    if summary["corrupt_lines"]:
        out[0] += " (%d corrupt lines skipped)" % summary["corrupt_lines"]
    if summary["first"]:
        out.append("  from %s to %s" % (summary["first"], summary["last_timestamp"]))
    sections = (
        ("By kind", sorted(summary["by_kind"].items(), key=lambda kv: (-kv[1], kv[0]))),
        ("Attacks by type", sorted(summary["attack_types"].items(), key=lambda kv: (-kv[1], kv[0]))),
        ("Top client IPs", summary["top_client_ips"]),
        ("Top paths", summary["top_paths"]),
    )
    for title, rows in sections:
        if rows:
            out.append("%s:" % title)
            out.extend("  %7d  %s" % (count, name) for name, count in rows)
    if summary["last"]:
        out.append("Last %d events:" % len(summary["last"]))
        out.extend("  " + format_event(e) for e in summary["last"])
    return "\n".join(out) + "\n"


def format_event(event):
    """One line describing ``event``."""
    kind = event.get("kind")
    parts = [six.text_type(event.get("timestamp", "?")), "%-11s" % kind]
    if kind == "attack":
        parts.append("%s %s" % (event.get("attack_type"), "blocked" if event.get("blocked") else "detected"))
    elif kind == "auth":
        parts.append("login %s" % ("success" if event.get("success") else "failure"))
    elif kind == "track":
        parts.append(six.text_type(event.get("name")))
    elif kind == "agent_error":
        error = event.get("error") or {}
        parts.append("%s: %s" % (error.get("where"), error.get("message")))
    elif kind == "metrics":
        counts = event.get("counts") or {}
        parts.append("events=%s dropped=%s" % (sum((counts.get("events") or {}).values()),
                                               counts.get("dropped")))
    user = event.get("user")
    if isinstance(user, dict) and user:
        parts.append("user=" + ",".join("%s" % (v,) for _, v in sorted(user.items())))
    request = event.get("request")
    if isinstance(request, dict):
        parts.append("%s %s from %s" % (request.get("method", "-"), request.get("path", "-"),
                                        request.get("client_ip", "-")))
    return " ".join(parts)


def _show(event, as_json):
    _write(sys.stdout, (json.dumps(event, sort_keys=True) if as_json else format_event(event)) + "\n")
    sys.stdout.flush()


def _write(stream, text):
    if six.PY2 and isinstance(text, six.text_type):
        text = text.encode("utf-8")
    stream.write(text)


def follow(path, offset, emit, interval=0.25, should_stop=lambda: False):
    """Call ``emit(event)`` for each event appended to ``path`` after ``offset``.

    Reopens ``path`` when it is replaced (rotation) and starts over when it
    shrinks (truncation); waits when it is missing. Corrupt lines are skipped.
    """
    stream, pending = None, b""
    try:
        while not should_stop():
            if stream is None:
                stream = _reopen(path, offset)
                offset = 0
                pending = b""
            if stream is None:
                time.sleep(interval)
                continue
            data = stream.read(65536)
            if data:
                pending = _emit_lines(pending + data, emit)
                continue
            state = _file_changed(path, stream)
            if state == "truncated":
                stream.seek(0)
                pending = b""
            elif state == "replaced":
                pending = _emit_lines(pending + stream.read(), emit)  # the old file's tail
                stream.close()
                stream = None
            else:
                time.sleep(interval)
    finally:
        if stream is not None:
            stream.close()


def _reopen(path, offset):
    try:
        stream = io.open(path, "rb")  # not Python 2's file: C stdio's EOF may stick
    except (IOError, OSError):
        return None
    stream.seek(offset)
    return stream


def _file_changed(path, stream):
    try:
        on_disk = os.stat(path)
    except (IOError, OSError):
        return None  # gone for now: keep the old file until a new one appears
    held = os.fstat(stream.fileno())
    if (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino):
        return "replaced"
    if on_disk.st_size < stream.tell():
        return "truncated"
    return None


def _emit_lines(data, emit):
    """Emit the complete lines of ``data``; return the unfinished rest."""
    lines = data.split(b"\n")
    for raw in lines[:-1]:
        event = parse_line(raw) if raw.strip() else None
        if event is not None:
            emit(event)
    return lines[-1]
