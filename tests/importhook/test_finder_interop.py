"""The engine next to other finders, lazy loading and strict warning filters."""
import os
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import ROOT
from tests.importhook._util import make_tree, py3_only, run

MODS = {
    "target.py": "X = 1\n",
    "lazy_target.py": "import sys\nsys.lazy_body_ran = True\nX = 7\n",
    "wpkg/__init__.py": "",
    "wpkg/mod.py": "Y = 2\n",
}

# A finder in the style of New Relic's: for its names it looks the spec up
# again through importlib (under its own guard) and wraps the loader.
NR_STYLE = """
import importlib.util
class NRFinder(object):
    busy = set()
    def find_spec(self, name, path=None, target=None):
        if name != "target" or name in self.busy:
            return None
        self.busy.add(name)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy.discard(name)
        real = spec.loader
        class NRLoader(object):
            def create_module(self, spec):
                return real.create_module(spec)
            def exec_module(self, module):
                real.exec_module(module)
                seen.append("nr")
        spec.loader = NRLoader()
        return spec
"""


@py3_only
@pytest.mark.parametrize("engine_first", [True, False])
def test_new_relic_style_finder_and_ours_both_fire(tmp_path, engine_first):
    root = make_tree(tmp_path, MODS)
    out = run(
        NR_STYLE
        + """
seen = []
ih.uninstall()
if %r:
    sys.meta_path.insert(0, NRFinder())
    ih.install()
else:
    ih.install()
    sys.meta_path.insert(0, NRFinder())
ih.register("target", lambda m: seen.append("sqreen"))
import target
print(sorted(seen), target.X)
"""
        % engine_first,
        root,
    )
    assert out == ["['nr', 'sqreen'] 1"]


@pytest.mark.parametrize("engine_first", [True, False])
def test_wrapt_post_import_hooks_and_ours_both_fire(tmp_path, engine_first):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import warnings
        warnings.simplefilter("ignore")
        import wrapt
        seen = []
        ih.uninstall()
        if not %r:
            ih.install()
        wrapt.register_post_import_hook(lambda m: seen.append("wrapt"), "wpkg.mod")
        if %r:
            ih.install()
        ih.register("wpkg.mod", lambda m: seen.append("sqreen"))
        import wpkg.mod
        loader = getattr(wpkg.mod, "__loader__", None)
        print(sorted(seen), wpkg.mod.Y, loader is None or type(loader).__name__ == "SourceFileLoader")
        """
        % (engine_first, engine_first),
        root,
    )
    assert out == ["['sqreen', 'wrapt'] 2 True"]


def test_pytest_assertion_rewriting_still_applies_to_a_hooked_test_module(tmp_path):
    root = make_tree(
        tmp_path,
        {
            "conftest.py": """
                import sqreen.importhook as ih
                ih.install()
                ih.register("test_hooked", lambda m: setattr(m, "HOOKED", True))
            """,
            "test_hooked.py": """
                def test_callback_ran():
                    assert HOOKED  # noqa: F821 (set by the callback)

                def test_assert_is_rewritten():
                    x = [1]
                    try:
                        assert x == [2]
                    except AssertionError as exc:
                        assert "[1] == [2]" in str(exc)
            """,
        },
    )
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_hooked.py"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out = proc.communicate()[0].decode()
    assert proc.returncode == 0, out
    assert "2 passed" in out


@py3_only
def test_lazy_loader_module_loads_only_when_used_and_then_fires(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import importlib.util
        seen = []
        ih.register("lazy_target", lambda m: seen.append(("first", m.X)))
        spec = importlib.util.find_spec("lazy_target")
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["lazy_target"] = module
        loader.exec_module(module)
        ih.register("lazy_target", lambda m: seen.append(("second", m.X)))
        print(hasattr(sys, "lazy_body_ran"), seen)
        print(module.X, seen, type(module.__loader__).__name__, type(module.__spec__.loader).__name__)
        """,
        root,
    )
    assert out == ["False []", "7 [('first', 7), ('second', 7)] SourceFileLoader SourceFileLoader"]


STRICT_WARNINGS = ["-W", "error::ImportWarning", "-W", "error::DeprecationWarning"]
STRICT_WARNINGS += ["-W", "error::PendingDeprecationWarning"]


@py3_only
def test_strict_warning_filters_see_nothing_from_hooked_imports(tmp_path):
    root = make_tree(tmp_path, MODS)
    archive = str(tmp_path / "z.zip")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped.py", "Z = 1\n")
    legacy_zip = sys.version_info < (3, 10)  # zipimport had only load_module then
    out = run(
        """
        import importlib
        sys.path.insert(0, %r)
        seen = []
        names = ["target", "wpkg", "wpkg.mod", "json", "sqlite3", "sqlite3.dbapi2", "_json"]
        names.append("email.mime.text")
        if not %r:
            names.append("zipped")
        for name in names:
            ih.register(name, lambda m: seen.append(m.__name__))
        for name in names:
            importlib.import_module(name)
        importlib.reload(sys.modules["target"])
        print(len(seen) == len(names) + 1)
        """
        % (archive, legacy_zip),
        root,
        args=STRICT_WARNINGS,
    )
    assert out == ["True"]


def test_a_finder_that_imports_what_it_is_asked_about_does_not_recurse(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import importlib
        seen = []
        class Importing(object):
            busy = set()
            def find_module(self, name, path=None):
                if name == "target" and name not in self.busy:
                    self.busy.add(name)
                    try:
                        importlib.import_module(name)
                    finally:
                        self.busy.discard(name)
                return None
            def find_spec(self, name, path=None, target=None):
                return self.find_module(name, path)
        sys.meta_path.insert(1, Importing())
        ih.register("target", lambda m: seen.append("cb"))
        import target
        print(len(seen) <= 1, target.X, sys.modules["target"] is target)
        """,
        root,
    )
    # The engine stands aside while this thread's lookup of the name is in
    # progress, so the nested import is a plain one; nothing recurses.
    assert out == ["True 1 True"]


@py3_only
def test_the_finder_never_calls_importlib_util_find_spec(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import importlib.util
        calls = []
        real = importlib.util.find_spec
        importlib.util.find_spec = lambda *a, **k: calls.append(a) or real(*a, **k)
        ih.register("target", lambda m: None)
        ih.register("wpkg.mod", lambda m: None)
        import target, wpkg.mod
        print(calls)
        """,
        root,
    )
    assert out == ["[]"]
