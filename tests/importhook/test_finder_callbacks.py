"""Post-import callbacks: when they run, how often, in what order, and on what."""
from tests.importhook._util import make_tree, py3_only, run

MODS = {
    "plain.py": "X = 1\n",
    "other.py": "Y = 2\n",
    "boom.py": """
        import os
        if not os.environ.get("BOOM_OK"):
            raise ValueError("body failed")
        Z = 3
    """,
    "regbody.py": """
        import sqreen.importhook as ih
        import __main__
        ih.register("regbody", lambda m: __main__.calls.append(("in body", m.DONE)))
        DONE = True
    """,
    "selfref.py": """
        import sqreen.importhook as ih
        seen_in_body = []
        ih.register("selfref", lambda m: seen_in_body.append(m.__name__))
        DONE = True
    """,
}


def test_callback_runs_once_after_the_body_before_import_returns(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        calls = []
        ih.register("plain", lambda m: calls.append(("cb", m.X, "plain" in sys.modules)))
        import plain
        calls.append("after import")
        import plain
        from plain import X
        print(calls)
        """,
        root,
    )
    assert out == ["[('cb', 1, True), 'after import']"]


def test_callbacks_run_in_registration_order_and_decorator_returns_function(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        calls = []
        @ih.when_imported("plain")
        def first(m):
            calls.append(1)
        ih.register("plain", lambda m: calls.append(2))
        ih.register("plain", lambda m: calls.append(3))
        import plain
        print(calls, first.__name__)
        """,
        root,
    )
    assert out == ["[1, 2, 3] first"]


def test_already_imported_module_runs_the_new_callback_at_once_only(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        calls = []
        import plain
        ih.register("plain", lambda m: calls.append("a"))
        print(calls)
        ih.register("plain", lambda m: calls.append("b"))
        import plain
        print(calls)
        """,
        root,
    )
    assert out == ["['a']", "['a', 'b']"]


def test_removed_callback_does_not_run(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        calls = []
        handle = ih.register("plain", lambda m: calls.append("gone"))
        ih.register("plain", lambda m: calls.append("kept"))
        handle.remove()
        handle.remove()
        import plain
        print(calls)
        """,
        root,
    )
    assert out == ["['kept']"]


def test_body_that_raises_gives_the_original_exception_and_no_callback(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import os
        calls = []
        ih.register("boom", lambda m: calls.append(m.Z))
        try:
            import boom
        except ValueError as exc:
            print("caught %s" % exc)
        print(calls, "boom" in sys.modules)
        os.environ["BOOM_OK"] = "1"
        import boom
        print(calls)
        """,
        root,
    )
    assert out == ["caught body failed", "[] False", "[3]"]


def test_callback_that_raises_is_logged_once_and_the_others_run(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import logging
        records = []
        class Keep(logging.Handler):
            def emit(self, record):
                records.append(record.getMessage())
        logging.getLogger("sqreen").addHandler(Keep())
        calls = []
        def bad(m):
            raise RuntimeError("callback bug")
        ih.register("plain", bad)
        ih.register("plain", lambda m: calls.append("good"))
        import plain
        del sys.modules["plain"]
        import plain
        print(calls, plain.X, len(records), "plain" in records[0])
        print(_log.counters())
        """,
        root,
    )
    assert out == ["['good', 'good'] 1 1 True", "{'importhook.callback.plain': 2}"]


def test_del_from_sys_modules_and_reimport_runs_callback_on_the_new_object(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        seen = []
        ih.register("plain", seen.append)
        import plain
        first = plain
        del sys.modules["plain"]
        import plain
        print(len(seen), seen[0] is first, seen[1] is plain, first is not plain)
        """,
        root,
    )
    assert out == ["2 True True True"]


def test_reload_reruns_callbacks_and_piles_up_no_layers(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        try:
            from importlib import reload
        except ImportError:
            pass
        seen = []
        ih.register("plain", lambda m: seen.append(m.X))
        import plain
        loader = getattr(plain, "__loader__", None)
        for _ in range(1000):
            plain = reload(plain)
        spec = getattr(plain, "__spec__", None)
        same = getattr(plain, "__loader__", None) is loader or type(plain.__loader__) is type(loader)
        print(len(seen), same)
        print(type(getattr(spec, "loader", None)).__name__ in ("SourceFileLoader", "NoneType"))
        """,
        root,
    )
    assert out == ["1001 True", "True"]


def test_callback_registered_while_the_hooked_body_runs_waits_for_the_body(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        calls = []
        ih.register("regbody", lambda m: calls.append(("before", m.DONE)))
        import regbody
        print(calls)
        """,
        root,
    )
    assert out == ["[('before', True), ('in body', True)]"]


@py3_only
def test_callback_registered_between_module_creation_and_execution_runs_once_after_the_body(tmp_path):
    """The import system puts the module in sys.modules before executing it."""
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import importlib.util
        calls = []
        ih.register("plain", lambda m: calls.append(("first", m.X)))
        spec = importlib.util.find_spec("plain")
        module = importlib.util.module_from_spec(spec)
        sys.modules["plain"] = module
        ih.register("plain", lambda m: calls.append(("second", m.X)))
        print(calls)
        spec.loader.exec_module(module)
        print(calls, type(module.__loader__).__name__)
        """,
        root,
    )
    assert out == ["[]", "[('first', 1), ('second', 1)] SourceFileLoader"]


def test_callback_registered_from_the_module_body_runs_once(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import selfref
        print(selfref.seen_in_body)
        """,
        root,
    )
    assert out == ["['selfref']"]


def test_unregistered_modules_are_declined_without_asking_other_finders(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        asked = []
        class Spy(object):
            def find_spec(self, name, path=None, target=None):
                asked.append(name)
            def find_module(self, name, path=None):
                asked.append(name)
        ih.register("plain", lambda m: None)
        finder = [f for f in sys.meta_path if getattr(f, "_sqreen_importhook_finder", False)][0]
        if hasattr(finder, "find_spec"):
            print(finder.find_spec("other", None), finder.find_spec("plainx", None))
        else:
            print(finder.find_module("other", None), finder.find_module("plainx", None))
        sys.meta_path.insert(1, Spy())
        import other
        print(asked.count("plain"))
        import plain
        print(asked.count("plain"))
        """,
        root,
    )
    assert out == ["None None", "0", "1"]


def test_import_results_are_identical_with_and_without_the_engine(tmp_path):
    root = make_tree(tmp_path, MODS)
    code = """
        import os
        if os.environ.get("HOOK"):
            ih.install()
            ih.register("email", lambda m: None)
        import json, email.mime.text, plain, xml.dom.minidom
        for name in ("json", "email", "email.mime.text", "plain", "xml.dom.minidom"):
            m = sys.modules[name]
            spec = getattr(m, "__spec__", None)
            print(name, getattr(m, "__file__", None), type(getattr(m, "__loader__", None)).__name__,
                  getattr(spec, "origin", None), type(getattr(spec, "loader", None)).__name__,
                  getattr(spec, "cached", None), getattr(m, "__cached__", None),
                  getattr(m, "__package__", None), getattr(m, "__path__", None))
        """
    # A first run writes the bytecode caches (on 2.7 a module then loads from
    # its .pyc, and its __file__ says so): compare runs that both find them.
    run(code, root, install=False)
    without = run(code, root, install=False)
    with_engine = run(code, root, install=False, env={"HOOK": "1"})
    assert with_engine == without
    assert len(without) == 5


@py3_only
def test_find_spec_runs_no_module_code_and_no_callback(tmp_path):
    root = make_tree(tmp_path, {"loud.py": "print('BODY RAN')\n"})
    out = run(
        """
        import importlib.util
        ih.register("loud", lambda m: print("CALLBACK"))
        spec = importlib.util.find_spec("loud")
        print(spec.name, "loud" in sys.modules)
        """,
        root,
    )
    assert out == ["loud False"]


def test_install_twice_or_from_two_copies_leaves_one_finder(tmp_path):
    # A second copy of the package under another top-level name, as an
    # installed wheel next to the repository would be.
    import os
    import shutil

    from tests.helpers import ROOT

    shutil.copytree(os.path.join(ROOT, "sqreen"), str(tmp_path / "sqreen_copy" / "sqreen"))
    out = run(
        """
        import os
        ih.install()
        copy = os.path.join(%r, "sqreen_copy")
        # Load the copy as a separate package under another name.
        if sys.version_info[0] < 3:
            import imp
            sq2 = imp.load_module("sqreen2", *imp.find_module("sqreen", [copy]))
        else:
            import importlib.util
            spec = importlib.util.spec_from_file_location(
                "sqreen2", os.path.join(copy, "sqreen", "__init__.py"),
                submodule_search_locations=[os.path.join(copy, "sqreen")])
            sq2 = importlib.util.module_from_spec(spec)
            sys.modules["sqreen2"] = sq2
            spec.loader.exec_module(sq2)
        import importlib
        ih2 = importlib.import_module("sqreen2.importhook")
        print(ih2 is ih, ih2.install() is ih.install())
        calls = []
        ih2.register("json", lambda m: calls.append("copy"))
        ih.register("json", lambda m: calls.append("repo"))
        import json
        print(sum(1 for f in sys.meta_path if getattr(f, "_sqreen_importhook_finder", False)), calls)
        ih2.uninstall()
        print(ih.is_installed())
        """
        % str(tmp_path),
        env={"PYTHONWARNINGS": "ignore"},
    )
    assert out == ["False True", "1 ['copy', 'repo']", "False"]


def test_uninstall_restores_meta_path_and_stops_interception(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        before = list(sys.meta_path)
        calls = []
        ih.register("plain", lambda m: calls.append(1))
        ih.uninstall()
        import plain
        print(calls, [type(f).__name__ for f in sys.meta_path] == [type(f).__name__ for f in before[1:]])
        ih.install()
        del sys.modules["plain"]
        import plain
        print(calls)
        """,
        root,
    )
    assert out == ["[] True", "[1]"]
