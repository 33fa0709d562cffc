"""The finder hands matching ``.py`` modules to ``_transform.get_code`` and runs what it returns."""
import os
import zipfile

from tests.importhook._util import PY3, make_tree, run

MODS = {
    "tapp/__init__.py": "LEVEL = 'tapp'\n",
    "tapp/views/__init__.py": "LEVEL = 'views'\n",
    "tapp/views/x.py": "LEVEL = 'x'\n",
    "tappx.py": "LEVEL = 'tappx'\n",
}

# Appends ``TRANSFORMED = <module name>`` to the module body.
MARK = """
import ast
def mark(tree, name, filename):
    stmt = ast.parse("TRANSFORMED = %r" % name).body[0]
    ast.copy_location(stmt, tree.body[-1])
    ast.fix_missing_locations(stmt)
    tree.body.append(stmt)
    return tree
"""


def test_prefix_matches_the_module_and_its_submodules_only(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        MARK
        + """
ih.register_transformer("tapp", mark, "1")
seen = []
ih.register("tapp.views.x", lambda m: seen.append(getattr(m, "TRANSFORMED", None)))
import tapp.views.x, tappx
for m in (tapp, tapp.views, tapp.views.x, tappx):
    print(m.__name__, m.LEVEL, getattr(m, "TRANSFORMED", None))
print(seen)
""",
        root,
    )
    assert out == [
        "tapp tapp tapp",
        "tapp.views views tapp.views",
        "tapp.views.x x tapp.views.x",
        "tappx tappx None",
        "['tapp.views.x']",
    ]


def test_transformed_module_keeps_the_attributes_the_real_loader_sets(tmp_path):
    root = make_tree(tmp_path, MODS)
    code = """
import os
if os.environ.get("TRANSFORM"):
    ih.register_transformer("tapp", mark, "1")
import tapp.views
for m in (tapp, tapp.views):
    spec = getattr(m, "__spec__", None)
    print(m.__name__, m.__file__, getattr(m, "__cached__", None), m.__path__,
          type(getattr(m, "__loader__", None)).__name__, type(getattr(spec, "loader", None)).__name__,
          getattr(spec, "origin", None), getattr(m, "__package__", None))
print(getattr(tapp.views, "TRANSFORMED", None))
"""
    plain = run(MARK + code, root)
    transformed = run(MARK + code, root, env={"TRANSFORM": "1"})
    assert transformed[:-1] == plain[:-1]
    assert (plain[-1], transformed[-1]) == ("None", "tapp.views")


def test_removed_transformer_no_longer_applies(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        MARK
        + """
handle = ih.register_transformer("tapp", mark, "1")
handle.remove()
import tapp
print(getattr(tapp, "TRANSFORMED", None), ih._registry.is_watched("tapp"))
""",
        root,
    )
    assert out == ["None False"]


def test_missing_transform_module_or_none_from_get_code_loads_the_module_unchanged(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        MARK
        + """
ih.register_transformer("tapp", mark, "1")
sys.modules["sqreen.importhook._transform"] = None  # as if it did not exist
import tapp
print(getattr(tapp, "TRANSFORMED", None), tapp.LEVEL)
del sys.modules["sqreen.importhook._transform"]
from sqreen.importhook import _transform
_transform.get_code = lambda fullname, filename, transformers: None
import tapp.views
print(getattr(tapp.views, "TRANSFORMED", None), tapp.views.LEVEL)
""",
        root,
    )
    assert out == ["None tapp", "None views"]


def test_get_code_receives_the_source_path_and_the_registry_records(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        MARK
        + """
from sqreen.importhook import _transform
calls = []
def spy(fullname, filename, transformers):
    calls.append((fullname, os.path.relpath(filename, %r), [(t.prefix, t.version) for t in transformers]))
    return compile("SPIED = True", filename, "exec")
import os
_transform.get_code = spy
ih.register_transformer("tapp", mark, "1")
ih.register_transformer("tapp.views", mark, "2")
import tapp.views.x
print(calls)
print(tapp.views.x.SPIED, type(ih.Transformer("p", mark, "v")).__name__)
"""
        % root,
        root,
    )
    sep = os.sep
    both = [("tapp", "1"), ("tapp.views", "2")]
    assert out == [
        str(
            [
                ("tapp", "tapp%s__init__.py" % sep, [("tapp", "1")]),
                ("tapp.views", sep.join(["tapp", "views", "__init__.py"]), both),
                ("tapp.views.x", sep.join(["tapp", "views", "x.py"]), both),
            ]
        ).replace("u'", "'"),
        "True Transformer",
    ]


def test_zipped_and_sourceless_modules_are_not_transformed(tmp_path):
    import py_compile

    archive = str(tmp_path / "t.zip")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tzip.py", "LEVEL = 'zip'\n")
    root = make_tree(tmp_path / "src", {"tpyc_src.py": "LEVEL = 'pyc'\n"})
    source = os.path.join(root, "tpyc_src.py")
    py_compile.compile(source, cfile=os.path.join(root, "tpyc.pyc"), doraise=True)
    os.remove(source)
    out = run(
        MARK
        + """
import warnings
warnings.simplefilter("ignore", ImportWarning)
sys.path.insert(0, %r)
ih.register_transformer("tzip", mark, "1")
ih.register_transformer("tpyc", mark, "1")
import tzip, tpyc
print(tzip.LEVEL, getattr(tzip, "TRANSFORMED", None), tpyc.LEVEL, getattr(tpyc, "TRANSFORMED", None))
"""
        % archive,
        root,
    )
    assert out == ["zip None pyc None"]


def test_transformed_module_whose_body_raises_leaves_no_module_behind(tmp_path):
    root = make_tree(tmp_path, {"tbad.py": "raise KeyError('from body')\n"})
    out = run(
        MARK
        + """
ih.register_transformer("tbad", mark, "1")
seen = []
ih.register("tbad", seen.append)
try:
    import tbad
except KeyError as exc:
    print("caught", exc)
print("tbad" in sys.modules, seen)
""",
        root,
    )
    assert out == ["caught 'from body'", "False []"]


def test_reload_of_a_transformed_module_transforms_again(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        MARK
        + """
try:
    from importlib import reload
except ImportError:
    pass
ih.register_transformer("tappx", mark, "1")
import tappx
del tappx.TRANSFORMED
tappx = reload(tappx)
print(tappx.TRANSFORMED, %r or type(tappx.__loader__).__name__)
"""
        % (not PY3),
        root,
    )
    assert out == ["tappx True" if not PY3 else "tappx SourceFileLoader"]
