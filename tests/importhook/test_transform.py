"""get_code: rewritten modules still look like their source; broken transformers change nothing."""
import ast
import dis
import inspect
import logging
import os
import sys
import traceback

import pytest

from sqreen import _astedit, _log
from sqreen.importhook import _transform

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
if DATA not in sys.path:
    sys.path.insert(0, DATA)

import transform_support as support  # noqa: E402

SOURCE = '''\
"""The module docstring."""
from __future__ import division, absolute_import

import os


def public(x):
    """A function docstring."""
    y = x * 2
    return y


def fails(x):
    z = x + 1
    raise ValueError(z)


class Thing(object):
    def method(self):
        return 1 / 2


_private = 1
'''
FAIL_LINE = 15  # the ``raise`` in fails()


def write_module(tmp_path, name, source=SOURCE):
    path = tmp_path / (name + ".py")
    support.write(path, source)
    return str(path)


@pytest.fixture
def modname(request, tmp_path, monkeypatch):
    """A unique module name whose file lives in tmp_path; sys.modules is cleaned after."""
    name = "transform_mod_%s" % request.node.name.replace("[", "_").replace("]", "_").replace("-", "_")
    yield name
    for key in [k for k in list(sys.modules) if k.startswith(name)]:
        del sys.modules[key]


@pytest.fixture(autouse=True)
def clean_state():
    _log.reset()
    del support.MARKED[:], support.HITS[:]
    yield
    _log.reset()


def load_both(tmp_path, name, transforms):
    path = write_module(tmp_path, name)
    plain = support.load(name + "_plain", path, [])
    rewritten = support.load(name, path, transforms)
    return plain, rewritten


def line_starts(code):
    """Every line number ``code`` and its nested code objects map to."""
    lines = set(line for _, line in dis.findlinestarts(code) if line is not None)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            lines |= line_starts(const)
    return lines


def test_transformers_run_and_their_output_executes(tmp_path, modname):
    path = write_module(tmp_path, modname)
    module = support.load(modname, path, [support.marker, support.tracer])
    assert support.MARKED == [modname]
    assert module.public(2) == 4
    assert support.HITS == ["public"]


def test_line_numbers_tracebacks_and_source_stay_the_original(tmp_path, modname):
    plain, module = load_both(tmp_path, modname, [support.marker, support.tracer])
    assert module.__file__ == plain.__file__
    assert module.__file__.endswith(modname + ".py")
    for name in ("public", "fails"):
        func, orig = getattr(module, name), getattr(plain, name)
        assert func.__code__.co_filename == module.__file__
        assert func.__code__.co_firstlineno == orig.__code__.co_firstlineno
        assert line_starts(func.__code__) == line_starts(orig.__code__)
        assert inspect.getsource(func) == inspect.getsource(orig)
    assert line_starts(module.Thing.method.__code__) == line_starts(plain.Thing.method.__code__)
    with pytest.raises(ValueError) as info:
        module.fails(1)
    frame = traceback.extract_tb(info.tb)[-1]
    assert (frame[0], frame[1], frame[2]) == (module.__file__, FAIL_LINE, "fails")
    assert frame[3] == "raise ValueError(z)"
    assert support.HITS == ["fails"]


def test_docstrings_and_future_imports_stay_first(tmp_path, modname):
    plain, module = load_both(tmp_path, modname, [support.marker, support.tracer])
    assert module.__doc__ == "The module docstring."
    assert module.public.__doc__ == "A function docstring."
    assert module.Thing().method() == 0.5  # ``division`` is in force, on 2.7 too
    assert support.MARKED == [modname]
    # the injected statement went after the header, located at the first statement it precedes
    tree = ast.parse(open(module.__file__).read(), module.__file__)
    _astedit.insert_at_top(tree, "pass")
    assert _astedit.header_length(tree) == 2
    assert tree.body[2].lineno == tree.body[3].lineno == 4


def test_header_is_kept_for_docstring_only_and_empty_modules(tmp_path, modname):
    path = write_module(tmp_path, modname, '"""Only a docstring."""\n')
    module = support.load(modname, path, [support.marker])
    assert module.__doc__ == "Only a docstring."
    assert support.MARKED == [modname]
    path = write_module(tmp_path, modname + "_empty", "")
    support.load(modname + "_empty", path, [support.marker])
    assert support.MARKED == [modname, modname + "_empty"]


def test_injected_names_do_not_show_in_dir_or_star_import(tmp_path, modname):
    plain, module = load_both(tmp_path, modname, [support.marker, support.tracer])
    ignored = {"__name__", "__builtins__"}
    assert set(dir(module)) - ignored == set(dir(plain)) - ignored
    assert sorted(star_import(module)) == sorted(star_import(plain)) == [
        "Thing", "absolute_import", "division", "fails", "os", "public"
    ]


def star_import(module):
    namespace = {}
    exec("from %s import *" % module.__name__, namespace)
    return [k for k in namespace if k != "__builtins__"]


def test_nodes_injected_without_a_location_get_one(tmp_path, modname):
    path = write_module(tmp_path, modname)
    assert support.load(modname, path, [support.unlocated]).LOCATED == 1


def test_a_transformer_may_change_the_tree_in_place(tmp_path, modname):
    path = write_module(tmp_path, modname)
    support.load(modname, path, [support.in_place])
    assert support.MARKED == ["in-place"]


def _warnings(caplog):
    return [r for r in caplog.records if r.name == "sqreen" and r.levelno >= logging.WARNING]


@pytest.mark.parametrize("bad", ["broken", "not_compiling", "returns_source"])
def test_a_failing_transformer_leaves_the_module_untransformed_with_one_warning(
    tmp_path, modname, caplog, bad
):
    path = write_module(tmp_path, modname)
    transformers = [support.Transformer(modname, t, 1) for t in (support.marker, getattr(support, bad))]
    with caplog.at_level(logging.WARNING, logger="sqreen"):
        assert _transform.get_code(modname, path, transformers) is None
        assert _transform.get_code(modname, path, transformers) is None
    assert len(_warnings(caplog)) == 1, caplog.records
    assert bad in _warnings(caplog)[0].getMessage()
    assert modname in _warnings(caplog)[0].getMessage()
    assert sum(_log.counters().values()) == 2
    # the import hook then loads it untransformed: it works, nothing injected ran
    module = support.load(modname, path, [support.marker, getattr(support, bad)])
    assert module.public(1) == 2
    assert support.MARKED == []
    assert not os.path.exists(os.path.join(str(tmp_path), "__pycache__")) or not [
        f for f in os.listdir(os.path.join(str(tmp_path), "__pycache__")) if "sqreen" in f
    ]


def test_a_syntax_error_is_left_for_the_original_loader_to_raise(tmp_path, modname, caplog):
    path = write_module(tmp_path, modname, "def broken(:\n    pass\n")
    transformers = [support.Transformer(modname, support.marker, 1)]
    with caplog.at_level(logging.WARNING, logger="sqreen"):
        assert _transform.get_code(modname, path, transformers) is None
    assert _warnings(caplog) == []


def test_an_unreadable_source_gives_none_and_one_warning(tmp_path, modname, caplog):
    transformers = [support.Transformer(modname, support.marker, 1)]
    zipped = str(tmp_path / "app.zip" / (modname + ".py"))  # what a zipimport spec's origin looks like
    support.write(tmp_path / "app.zip", "not a directory")
    with caplog.at_level(logging.WARNING, logger="sqreen"):
        assert _transform.get_code(modname, str(tmp_path / "missing.py"), transformers) is None
        assert _transform.get_code(modname, zipped, transformers) is None
    assert len(_warnings(caplog)) == 1
    assert "cannot read the source file of module %s" % modname in _warnings(caplog)[0].getMessage()


def test_source_encodings_are_honoured(tmp_path, modname):
    latin = b"# -*- coding: latin-1 -*-\nTEXT = u'caf\xe9'\n"
    bom = b"\xef\xbb\xbfTEXT = u'caf\xc3\xa9'\n"
    for suffix, data in (("_latin", latin), ("_bom", bom)):
        path = tmp_path / (modname + suffix + ".py")
        with open(str(path), "wb") as f:
            f.write(data)
        module = support.load(modname + suffix, str(path), [support.marker])
        assert module.TEXT == u"caf\xe9"
    assert support.MARKED == [modname + "_latin", modname + "_bom"]


def test_a_non_ascii_path_works(tmp_path):
    directory = tmp_path / u"r\xe9pertoire"
    directory.mkdir()
    path = write_module(directory, "transform_mod_non_ascii")
    path = path if isinstance(path, str) else path.encode(sys.getfilesystemencoding())
    try:
        module = support.load("transform_mod_non_ascii", path, [support.marker])
    finally:
        sys.modules.pop("transform_mod_non_ascii", None)
    assert module.public(1) == 2
    assert support.MARKED == ["transform_mod_non_ascii"]


def test_the_agents_future_flags_do_not_leak_into_app_code(tmp_path, modname):
    # _transform compiles with dont_inherit: a 2.7 module without the future import keeps
    # classic division and the print statement.
    source = "x = 1 / 2\n" + ("print 'stmt'\n" if sys.version_info[0] == 2 else "")
    path = write_module(tmp_path, modname, source)
    module = support.load(modname, path, [support.marker])
    assert module.x == (0 if sys.version_info[0] == 2 else 0.5)


def test_identity_does_not_depend_on_the_process():
    class Callable(object):
        def __call__(self, tree, name, filename):
            return tree

    assert _transform._identity(support.marker) == "transform_support.marker"
    assert "Callable" in _transform._identity(Callable())
    assert "0x" not in _transform._identity(Callable())
