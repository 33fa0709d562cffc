"""The on-disk cache of rewritten code: named apart from CPython's, checked, atomic, optional."""
import errno
import marshal
import os
import subprocess
import sys
import textwrap

import pytest

from sqreen import _log
from sqreen.importhook import _cache, _transform
from tests.helpers import ROOT, run_python

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
if DATA not in sys.path:
    sys.path.insert(0, DATA)

import transform_support as support  # noqa: E402

SOURCE = "def f(x):\n    return x + 1\n\nVALUE = f(1)\n"


@pytest.fixture
def module(tmp_path):
    """(name, path) of a fresh module file; its sys.modules entries are removed after."""
    name = "cache_mod_%d" % len(os.listdir(str(tmp_path)))
    path = tmp_path / (name + ".py")
    support.write(path, SOURCE)
    yield name, str(path)
    for key in [k for k in sys.modules if k == name]:
        del sys.modules[key]


# The cache obeys PYTHONDONTWRITEBYTECODE / sys.dont_write_bytecode: the tests turn it off.
WRITE = {"PYTHONDONTWRITEBYTECODE": ""}


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    _log.reset()
    del support.MARKED[:]
    yield
    _log.reset()


def records(name, transforms=(support.marker,), version=1):
    return [support.Transformer(name, t, version) for t in transforms]


def our_files(directory):
    if not os.path.isdir(directory):
        return []
    return sorted(f for f in os.listdir(directory) if ".sqreen-" in f)


def test_the_cache_name_cannot_collide_with_cpythons_own(module):
    name, path = module
    key = _transform.transformer_key(name, path, records(name))
    cached = _cache.cache_path(path, key, _transform.ENGINE_VERSION)
    tag = _cache._cache_tag()
    assert os.path.dirname(cached) == os.path.join(os.path.dirname(path), "__pycache__")
    base = os.path.basename(cached)
    assert base.startswith("%s.%s." % (name, tag))
    assert ".sqreen-%d-" % _transform.ENGINE_VERSION in base
    assert base.endswith(".pyc")
    assert cached != _cache._interpreter_cache_path(path)
    if sys.version_info[0] >= 3:
        import importlib.util

        assert _cache._interpreter_cache_path(path) == importlib.util.cache_from_source(path)
        assert tag == sys.implementation.cache_tag


def test_the_name_carries_the_transformers_identities_and_versions(module):
    name, path = module

    def path_for(transformers):
        key = _transform.transformer_key(name, path, transformers)
        return _cache.cache_path(path, key, _transform.ENGINE_VERSION)

    paths = {
        path_for(records(name)),
        path_for(records(name, version=2)),
        path_for(records(name, (support.tracer,))),
        path_for(records(name, (support.marker, support.tracer))),
        path_for(records(name, (support.tracer, support.marker))),
        path_for([support.Transformer(name + ".x", support.marker, 1)]),
    }
    assert len(paths) == 6
    assert path_for(records(name)) == path_for(records(name))


def test_a_second_process_loads_the_cache_without_parsing(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    support.write((package / "cached_mod.py"), SOURCE)
    counter = tmp_path / "count"
    child = """
        import sys
        sys.path[:0] = [%r, %r]
        from sqreen.importhook import _transform
        compiled = []
        real = _transform._compile
        _transform._compile = lambda *args: compiled.append(1) or real(*args)
        import transform_support as support
        module = support.load("cached_mod", %r, [support.marker])
        print("%%s %%s %%d" %% (module.VALUE, support.MARKED, len(compiled)))
    """ % (str(package), DATA, str(package / "cached_mod.py"))
    env = dict(WRITE, TRANSFORM_COUNT_FILE=str(counter))
    first = run_python(child, env=env)[1].split()
    assert support.read(counter) == "x\n"
    assert len(our_files(str(package / "__pycache__"))) == 1
    second = run_python(child, env=env)[1].split()
    assert support.read(counter) == "x\n"  # the transformer did not run again
    assert first[:2] == second[:2] == ["2", "['cached_mod']"]  # and its output is in force
    assert int(first[2]) >= 2 and second[2] == "0"  # parse + compile, then neither


def test_a_changed_source_is_a_miss_even_with_same_size_and_mtime(module):
    name, path = module
    support.load(name, path, [support.marker])
    stat = os.stat(path)
    with open(path, "w") as f:
        f.write(SOURCE.replace("x + 1", "x + 2"))
    os.utime(path, (stat.st_atime, stat.st_mtime))
    assert os.stat(path).st_size == stat.st_size
    assert support.load(name, path, [support.marker]).VALUE == 3


def test_a_new_transformer_version_is_a_miss(module, tmp_path):
    name, path = module
    counter = tmp_path / "count"
    os.environ["TRANSFORM_COUNT_FILE"] = str(counter)
    try:
        support.load(name, path, [support.marker])
        support.load(name, path, [support.marker])
        support.load(name, path, [support.marker], version=2)
    finally:
        del os.environ["TRANSFORM_COUNT_FILE"]
    assert support.read(counter) == "x\nx\n"
    assert len(our_files(str(tmp_path / "__pycache__"))) == 2


def _cached_file(name, path):
    key = _transform.transformer_key(name, path, records(name))
    return _cache.cache_path(path, key, _transform.ENGINE_VERSION), key


@pytest.mark.parametrize(
    "damage",
    ["empty", "garbage", "truncated_header", "truncated_body", "other_magic", "not_code", "directory"],
)
def test_a_corrupt_or_unreadable_cache_file_is_a_miss(module, damage):
    name, path = module
    support.load(name, path, [support.marker])
    cached, key = _cached_file(name, path)
    with open(cached, "rb") as f:
        good = f.read()
    header = _cache._HEADER.size
    bad = {
        "empty": b"",
        "garbage": b"\x00garbage" * 20,
        "truncated_header": good[: header - 3],
        "truncated_body": good[: header + (len(good) - header) // 2],
        "other_magic": good[:4] + b"\x00\x00\r\n" + good[8:],
        "not_code": good[:header] + marshal.dumps(("not", "code")),
    }
    if damage == "directory":
        os.unlink(cached)
        os.mkdir(cached)
    else:
        with open(cached, "wb") as f:
            f.write(bad[damage])
    source_digest = _cache.digest(open(path, "rb").read())
    assert _cache.load(cached, source_digest, key) is None
    del sys.modules[name]
    assert support.load(name, path, [support.marker]).VALUE == 2
    assert support.MARKED == [name, name]
    if damage != "directory":  # the bad file was replaced by a good one
        assert _cache.load(cached, source_digest, key) is not None


def test_concurrent_writers_never_leave_a_truncated_file(tmp_path):
    target = str(tmp_path / "__pycache__" / "big.cpython-xx.sqreen-1-000000000000.pyc")
    start = tmp_path / "go"
    writer = """
        import os, sys, time
        sys.path.insert(0, %r)
        from sqreen.importhook import _cache
        code = compile("\\n".join("v%%d = 'value %%d'" %% (i, i) for i in range(3000)), "big.py", "exec")
        digest = b"s" * 16
        key = b"k" * 16
        deadline = time.time() + 60  # only so that a failing test cannot hang
        while not os.path.exists(%r) and time.time() < deadline:
            time.sleep(0.001)
        bad = stored = 0
        for _ in range(40):
            stored += _cache.store(%r, digest, key, code)
            loaded = _cache.load(%r, digest, key)
            bad += loaded is None or len(loaded.co_names) != 3000
        print("%%d %%d" %% (stored, bad))
    """ % (DATA, str(start), target, target)
    env = dict(os.environ, **WRITE)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(writer)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    try:
        support.write(start, "")
    finally:
        results = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, results
    assert [out.split() for out, _ in results] == [[b"40", b"0"]] * 6
    assert os.listdir(os.path.dirname(target)) == [os.path.basename(target)]  # no temporary left


def test_an_unwritable_pycache_still_loads_transformed(module, tmp_path):
    name, path = module
    support.write((tmp_path / "__pycache__"), "a file where the directory should be")
    assert support.load(name, path, [support.marker]).VALUE == 2
    assert support.MARKED == [name]
    assert _log.counters() == {"importhook.cache.write_failed": 1}


def test_a_read_only_pycache_still_loads_transformed(module, tmp_path, monkeypatch):
    name, path = module
    pycache = tmp_path / "__pycache__"
    pycache.mkdir()
    pycache.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: make the directory refuse new files as it would
        real_open = os.open

        def refusing_open(file, flags, *args):
            if os.path.dirname(file) == str(pycache) and flags & os.O_CREAT:
                raise OSError(errno.EACCES, "Permission denied", file)
            return real_open(file, flags, *args)

        monkeypatch.setattr(os, "open", refusing_open)
    try:
        assert support.load(name, path, [support.marker]).VALUE == 2
        assert os.listdir(str(pycache)) == []
    finally:
        pycache.chmod(0o755)
    assert support.MARKED == [name]
    assert _log.counters() == {"importhook.cache.write_failed": 1}


def test_dont_write_bytecode_reads_but_does_not_write(module, tmp_path, monkeypatch):
    name, path = module
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    support.load(name, path, [support.marker])
    assert our_files(str(tmp_path / "__pycache__")) == []
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    del sys.modules[name]
    support.load(name, path, [support.marker])
    assert len(our_files(str(tmp_path / "__pycache__"))) == 1
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    cached, key = _cached_file(name, path)
    assert _cache.load(cached, _cache.digest(open(path, "rb").read()), key) is not None


@pytest.mark.skipif(sys.version_info < (3, 8), reason="PYTHONPYCACHEPREFIX exists from Python 3.8")
def test_pycacheprefix_moves_the_cache_under_the_prefix(tmp_path):
    (tmp_path / "src").mkdir()
    path = tmp_path / "src" / "prefixed_mod.py"
    support.write(path, SOURCE)
    prefix = tmp_path / "prefix"
    child = """
        import sys
        sys.path.insert(0, %r)
        import transform_support as support
        print(support.load("prefixed_mod", %r, [support.marker]).VALUE)
    """ % (DATA, str(path))
    assert run_python(child, env=dict(WRITE, PYTHONPYCACHEPREFIX=str(prefix)))[1].split() == ["2"]
    assert not (tmp_path / "src" / "__pycache__").exists()
    found = [f for _, _, files in os.walk(str(prefix)) for f in files if ".sqreen-" in f]
    assert len(found) == 1 and found[0].startswith("prefixed_mod.")


def test_optimized_code_is_cached_apart(tmp_path):
    path = tmp_path / "optimized_mod.py"
    support.write(path, "assert False, 'asserts are stripped under -O'\nVALUE = 1\n")
    child = """
        import sys
        sys.path.insert(0, %r)
        import transform_support as support
        print(support.load("optimized_mod", %r, [support.marker]).VALUE)
    """ % (DATA, str(path))
    for _ in range(2):  # the second round reads what the first wrote
        assert run_python(child, args=["-O"], env=WRITE)[1].split() == ["1"]
        assert run_python(child, env=WRITE, check=False)[0] != 0  # AssertionError
    assert len(our_files(str(tmp_path / "__pycache__"))) == 2
