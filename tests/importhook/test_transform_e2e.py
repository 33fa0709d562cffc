"""Transformers through the public import hook: the module still looks like its source."""
import json
import os

from tests.helpers import run_python

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

MODULE = '''\
"""Docstring of e2e_pkg.mod."""
from __future__ import division


def half(x):
    """Half of x."""
    return x / 2


def fails():
    raise KeyError("boom")
'''

CHILD = """
    import inspect, json, logging, sys, traceback
    logging.basicConfig(level=logging.WARNING, format="LOG %%(name)s %%(message)s")
    sys.path[:0] = [%(root)r, %(data)r]
    import transform_support as support
    from sqreen import importhook
    for name in %(transforms)r:
        importhook.register_transformer("e2e_pkg", getattr(support, name), 1)
    importhook.install()
    import e2e_pkg.mod as mod
    from e2e_pkg import other
    try:
        mod.fails()
    except KeyError:
        last = traceback.extract_tb(sys.exc_info()[2])[-1]
    print(json.dumps({
        "file": mod.__file__, "origin": mod.__spec__.origin if hasattr(mod, "__spec__") else None,
        "cached": getattr(mod, "__cached__", None), "loader": type(getattr(mod, "__loader__", None)).__name__,
        "doc": mod.__doc__, "half": mod.half(1), "source": inspect.getsource(mod.half),
        "tb": [last[0], last[1], last[3]], "dir": sorted(dir(mod)), "other": other.VALUE,
        "marked": support.MARKED, "hits": support.HITS,
    }))
"""


def make_package(tmp_path):
    package = tmp_path / "e2e_pkg"
    package.mkdir()
    for name, text in [("__init__.py", ""), ("mod.py", MODULE), ("other.py", "VALUE = 42\n")]:
        with open(str(package / name), "w") as f:
            f.write(text)
    return str(tmp_path)


def run(root, transforms):
    code = CHILD % {"root": root, "data": DATA, "transforms": list(transforms)}
    _, out, err = run_python(code, env={"PYTHONDONTWRITEBYTECODE": ""})
    logs = [line for line in err.splitlines() if line.startswith("LOG")]
    return json.loads(out.strip().splitlines()[-1]), logs


def test_a_transformed_package_looks_like_its_source(tmp_path):
    root = make_package(tmp_path)
    plain, _ = run(root, [])
    for _ in range(2):  # cold cache, then warm cache
        rewritten, logs = run(root, ["marker", "tracer"])
        assert rewritten["marked"] == ["e2e_pkg", "e2e_pkg.mod", "e2e_pkg.other"]
        assert rewritten["hits"] == ["fails", "half"]  # in the order the child calls them
        assert logs == []
        for key in ("file", "origin", "cached", "loader", "doc", "half", "source", "tb", "dir", "other"):
            assert rewritten[key] == plain[key], key
    assert plain["tb"] == [os.path.join(root, "e2e_pkg", "mod.py"), 11, 'raise KeyError("boom")']
    assert plain["half"] == 0.5


def test_a_broken_transformer_loads_the_package_untransformed_with_one_warning(tmp_path):
    root = make_package(tmp_path)
    plain, _ = run(root, [])
    for bad in ("broken", "not_compiling"):
        result, logs = run(root, ["marker", bad])
        assert result["marked"] == [] and result["hits"] == []
        for key in ("doc", "half", "tb", "dir"):
            assert result[key] == plain[key], key
        # 2.7 loads the untransformed module from the .pyc the first run wrote
        assert result["file"] in (plain["file"], plain["file"] + "c")
        assert len(logs) == 1, logs
        assert bad in logs[0] and "e2e_pkg" in logs[0]
