"""Path traversal: payloads in paths built the way vulnerable apps build them, and careful look-alikes."""
import os
import sys

import pytest
from hypothesis import given, settings, strategies as st
from six.moves.urllib.parse import unquote

from sqreen import _log
from sqreen.protections._path_traversal import check_path

BASE = "/srv/app/uploads"


def inputs(value):
    return [("query", "file", value), ("header", "accept", "text/html"), ("cookie", "lang", "en")]


def join(value):
    return os.path.join(BASE, value)


# (how the app builds the path, input)
ATTACKS = [
    (join, "../../etc/passwd"),
    (join, "../../../../../../../../etc/shadow"),
    (join, "/etc/passwd"),
    (join, "/proc/self/environ"),
    (join, "/var/log/auth.log"),
    (join, "//etc/passwd"),
    (join, unquote("%2e%2e%2f%2e%2e%2fetc%2fpasswd")),
    (join, "./../.././../etc/passwd"),
    (join, "a/../../../etc/passwd"),
    (join, "..//..//etc/passwd"),
    (join, ".././.././etc"),
    (join, "..\\..\\etc\\passwd"),
    (join, "..\\/..\\/etc/passwd"),
    (join, "../.htaccess"),
    (join, "sub/../../../x"),
    (join, "file/../../../../etc/hosts"),
    (join, "../" * 20 + "etc/passwd"),
    (join, "/home/deploy/.ssh/authorized_keys"),
    (join, "/etc/passwd\x00"),
    (lambda v: BASE + "/" + v, "../settings.py"),
    (lambda v: BASE + "/" + v, "..\\secret"),
    (lambda v: "%s/%s.png" % (BASE, v), "../../etc/passwd\x00"),
    (lambda v: "%s/%s/secret.txt" % (BASE, v), ".."),
    (lambda v: "/var/www/%s/index.html" % v, "../../../etc"),
    (lambda v: "/srv/data" + v, "/../config.yml"),
    (lambda v: v, "../secrets.txt"),
    (lambda v: v, "../../etc/passwd"),
    (lambda v: "../data/" + v, "../../x"),
    (lambda v: (BASE + "/" + v).encode("utf-8"), "../../etc/passwd"),
    (lambda v: os.path.join(BASE.encode(), v.encode("utf-8")), "/etc/passwd"),
    (lambda v: "%s/%s/%s" % (BASE, "2024", v), "../../../../root/.bashrc"),
]

BENIGN = [
    (join, "report.v2..final.txt"),
    (join, "..hidden"),
    (join, "..."),
    (join, "...."),
    (join, "....//....//etc"),
    (join, "a..b"),
    (join, "foo../bar"),
    (join, "foo/..bar"),
    (join, "..foo/bar.txt"),
    (join, ".bashrc"),
    (join, "report.pdf"),
    (join, "avatar.png"),
    (join, "2024/01/report.csv"),
    (join, "a/b/c.txt"),
    (join, "a/../b.txt"),
    (join, "a/b/../../c.txt"),
    (join, "./x.txt"),
    (join, "sub/./file"),
    (join, "./././x"),
    (join, "sub//file"),
    (join, "dir/"),
    (join, "../uploads/x.txt"),
    (join, "%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
    (join, "..%2fetc"),
    (join, "..%c0%af..%c0%afetc"),
    (join, "..%5c..%5cetc"),
    (join, u"r\u00e9sum\u00e9.pdf"),
    (join, u"\u65e5\u672c\u8a9e.txt"),
    (join, "my file (1).txt"),
    (join, "~/x"),
    (join, "a\\b.txt"),
    (join, u"..\u2215..\u2215etc"),
    (join, ". ./. ./etc"),
    (join, ".. /x"),
    (lambda v: "%s/%s.txt" % (BASE, v), ".."),
    (lambda v: "%s/%s.txt" % (BASE, v), "a/.."),
    (lambda v: "%s/img_%s" % (BASE, v), "../../etc/passwd"),
    (lambda v: "%s/%s" % (BASE, v), "x.tar.gz"),
    (lambda v: "/srv/data" + v, "/report.txt"),
    (lambda v: "/etc/app/%s.yml" % v, "config"),
    (lambda v: v, "report.txt"),
    (lambda v: v, "data/report.csv"),
    (lambda v: v, "data/../report.csv"),
    (lambda v: (BASE + "/" + v).encode("utf-8"), "photo.jpg"),
    (lambda v: (BASE + "/" + v).encode("utf-8"), "..jpg"),
    (lambda v: BASE + "/" + v, "a" * 200 + ".txt"),
    (lambda v: BASE + "/" + v + "/../x", "sub"),
    (lambda v: "/var/www/%s/index.html" % v, "blog"),
    (lambda v: "/var/www/%s/index.html" % v, "blog/2024"),
    (lambda v: "/tmp/%s-%s" % (v, "x"), ".."),
    (lambda v: BASE + "/" + v, "notes..txt"),
]


@pytest.mark.parametrize("build,value", ATTACKS)
def test_attack(build, value):
    attack = check_path(build(value), inputs(value))
    assert attack is not None and attack.attack_type == "path_traversal"
    assert attack.input == ("query", "file", value)


@pytest.mark.parametrize("build,value", BENIGN)
def test_not_an_attack(build, value):
    assert check_path(build(value), inputs(value)) is None


def test_reasons():
    assert check_path("/etc/passwd", inputs("/etc/passwd")).reason == "absolute path"
    assert check_path(join("../x"), inputs("../x")).reason == "climbs above the directory"


def test_path_objects_are_read_as_their_str():
    class FakePath(object):  # pathlib.PurePath's str(), on 2.7 too
        def __init__(self, text):
            self.text = text

        def __str__(self):
            return self.text

        __fspath__ = __str__

    assert check_path(FakePath(join("../../etc/passwd")), inputs("../../etc/passwd")) is not None
    assert check_path(FakePath(join("report.pdf")), inputs("report.pdf")) is None


@pytest.mark.skipif(sys.version_info[0] < 3, reason="pathlib is Python 3 (FakePath covers 2.7)")
def test_pathlib_objects():
    import pathlib

    path = pathlib.PurePosixPath(BASE) / "../../etc/passwd"
    assert check_path(path, inputs("../../etc/passwd")) is not None
    assert check_path(pathlib.PurePosixPath(BASE) / "a..b", inputs("a..b")) is None


def test_no_inputs_or_no_occurrence():
    assert check_path(join("../../etc/passwd"), []) is None
    assert check_path(join("../../etc/passwd"), inputs("unrelated")) is None


def test_errors_are_logged_once_and_never_raised():
    class Broken(object):
        def __str__(self):
            raise RuntimeError("boom")

        __fspath__ = __str__

    _log.reset()
    assert check_path(Broken(), inputs("x")) is None
    assert _log.counters().get("protections.path_traversal") == 1


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=list("ab./\\\x00%~ ") + [u"\u00e9"], max_size=40), st.data())
def test_fuzz_never_raises(path, data):
    _log.reset()
    if len(path) >= 2:
        start = data.draw(st.integers(0, len(path) - 2))
        end = data.draw(st.integers(start + 2, len(path)))
        value = path[start:end]
    else:
        value = "zz"
    result = check_path(path, inputs(value))
    assert result is None or result.input[2] == value
    assert "protections.path_traversal" not in _log.counters()
