import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from sqreen import _log
from sqreen._sink_file import FileSink
from tests.helpers import ROOT, run_python


@pytest.fixture(autouse=True)
def fresh_log():
    _log.reset()
    yield
    _log.reset()


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().splitlines()


def test_lines_are_appended_and_the_file_created(tmp_path):
    path = str(tmp_path / "events.jsonl")
    with open(path, "wb") as f:
        f.write(b"old\n")
    sink = FileSink(path)
    assert sink.send([b'{"a":1}\n', b'{"a":2}\n']) == 2
    assert sink.send([b'{"a":3}\n']) == 1
    sink.close()
    assert read_lines(path) == [b"old", b'{"a":1}', b'{"a":2}', b'{"a":3}']


def test_rotation_is_noticed_and_the_path_reopened(tmp_path):
    path = str(tmp_path / "events.jsonl")
    sink = FileSink(path)
    sink.send([b"1\n"])
    os.rename(path, path + ".1")
    sink.send([b"2\n"])
    os.unlink(path)
    sink.send([b"3\n"])
    sink.close()
    assert read_lines(path + ".1") == [b"1"]
    assert read_lines(path) == [b"3"]


def test_dash_means_stderr():
    _, out, err = run_python(
        """
        from sqreen._sink_file import FileSink
        FileSink("-").send([b'{"to":"stderr"}\\n'])
        """
    )
    assert out == "" and err == '{"to":"stderr"}\n'


def test_unwritable_path_is_logged_once_counted_and_survived(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    sink = FileSink(str(not_a_dir / "events.jsonl"))  # ENOTDIR, even for root
    assert sink.send([b"1\n"]) == 0
    assert sink.send([b"2\n"]) == 0
    assert _log.counters()["reporter.file.open"] == 2


@pytest.fixture
def full_disk_path():
    """A file on a 16 KiB tmpfs when we may mount one, else /dev/full."""
    mountpoint = tempfile.mkdtemp()
    mounted = False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        mounted = subprocess.call(
            ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mountpoint],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ) == 0
    try:
        yield os.path.join(mountpoint, "events.jsonl") if mounted else "/dev/full"
    finally:
        if mounted:
            subprocess.call(["umount", mountpoint])
        shutil.rmtree(mountpoint, ignore_errors=True)


def test_full_disk_is_logged_once_counted_and_survived(full_disk_path):
    sink = FileSink(full_disk_path)
    line = b'{"pad":"' + b"x" * 1000 + b'"}\n'
    written = sum(sink.send([line] * 10) for _ in range(5))
    assert written < 50
    assert _log.counters()["reporter.file.write"] >= 1
    if full_disk_path != "/dev/full":
        # Whole lines only, except possibly one cut short and terminated.
        lines = read_lines(full_disk_path)
        assert sum(1 for ln in lines if ln == line.rstrip(b"\n")) == written
        os.unlink(full_disk_path)  # free the space: the sink recovers
        assert sink.send([line]) == 1
        assert read_lines(full_disk_path) == [line.rstrip(b"\n")]
    sink.close()


WRITER = textwrap.dedent(
    """
    import sys
    from sqreen import _reporter, _events
    path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    _reporter.start({"events_file": path, "queue_size": count + 10, "flush_timeout": 30})
    pad = "p" * 9000  # lines over PIPE_BUF and page size
    for i in range(count):
        _reporter.report(_events.track_event("w", properties={"tag": tag, "i": i, "pad": pad}))
        if i % 50 == 0:
            _reporter.flush(30)
    assert _reporter.stop(30)
    """
)


def test_many_processes_append_to_one_file_without_interleaving(tmp_path):
    path = str(tmp_path / "shared.jsonl")
    count, nprocs = 300, 6
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, str(n), str(count)], cwd=ROOT)
        for n in range(nprocs)
    ]
    assert [p.wait() for p in procs] == [0] * nprocs
    seen = {}
    for number, raw in enumerate(read_lines(path)):
        try:
            event = json.loads(raw.decode("ascii"))  # every line parses: none interleaved
        except ValueError:
            raise AssertionError("line %d is not JSON: %r" % (number, raw[:200]))
        if event["kind"] == "track":
            props = event["properties"]
            seen.setdefault(props["tag"], []).append(props["i"])
    assert sorted(seen) == [str(n) for n in range(nprocs)]
    for indices in seen.values():
        assert indices == list(range(count))


def test_short_write_is_an_error(monkeypatch, tmp_path):
    from sqreen import _sink_file

    real_write = os.write
    monkeypatch.setattr(_sink_file.os, "write", lambda fd, data: real_write(fd, data[:3]))
    fd = os.open(str(tmp_path / "f"), os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(IOError) as info:
            _sink_file._write_whole(fd, b"abcdef\n")
    finally:
        os.close(fd)
    assert info.value.errno == errno.ENOSPC
    assert (tmp_path / "f").read_bytes() == b"abc\n"  # the cut line is terminated
