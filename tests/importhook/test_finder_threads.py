"""Callbacks run outside the engine's locks; concurrent imports fire them once."""
import os

import pytest

from tests.importhook._util import PY3, make_tree, run

MODS = {
    "first.py": "X = 1\n",
    "second.py": "Y = 2\n",
    "third.py": "Z = 3\n",
    "slow.py": """
        import threading
        import sys
        # Let every importing thread reach the import before the body completes.
        gate = sys.modules["__main__"].gate
        gate.wait()
        VALUE = 42
    """,
}


@pytest.mark.skipif(
    not PY3, reason="Python 2's global import lock makes this deadlock with or without the engine"
)
def test_callback_joining_a_thread_that_imports_hooked_modules_does_not_deadlock(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import threading
        seen = []
        def worker():
            import second, third
            ih.register("third", lambda m: seen.append("third again"))
            ih.install()
        def on_first(m):
            t = threading.Thread(target=worker)
            t.start()
            t.join()
            seen.append("first")
        ih.register("first", on_first)
        ih.register("second", lambda m: seen.append("second"))
        ih.register("third", lambda m: seen.append("third"))
        import first
        print(seen)
        """,
        root,
        timeout=30,
    )
    assert out == ["['second', 'third', 'third again', 'first']"]


def test_eight_threads_importing_one_hooked_module_see_one_callback_and_the_patch(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import threading
        N = 8
        calls = []
        started = threading.Semaphore(0)
        gate = threading.Event()
        def patch(m):
            calls.append(m.VALUE)
            m.PATCHED = True
        ih.register("slow", patch)
        results = []
        def worker():
            started.release()
            import slow
            results.append(getattr(slow, "PATCHED", False))
        threads = [threading.Thread(target=worker) for _ in range(N)]
        for t in threads:
            t.start()
        for _ in range(N):
            started.acquire()
        gate.set()
        for t in threads:
            t.join()
        print(calls, results.count(True), len(results))
        """,
        root,
        timeout=30,
    )
    assert out == ["[42] 8 8"]


def test_callbacks_run_outside_the_engine_lock(tmp_path):
    """A callback waiting on a thread that registers and uninstalls/installs must not hang."""
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import threading
        seen = []
        def other_thread():
            h = ih.register("second", lambda m: None)
            h.remove()
            ih.register_transformer("nothing_here", lambda tree, name, filename: tree, "1").remove()
            seen.append("other thread done")
        def on_first(m):
            t = threading.Thread(target=other_thread)
            t.start()
            t.join()
        ih.register("first", on_first)
        import first
        print(seen)
        """,
        root,
        timeout=30,
    )
    assert out == ["['other thread done']"]


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="os.register_at_fork is new in Python 3.7")
def test_a_forked_child_can_register_while_a_parent_thread_held_the_lock(tmp_path):
    root = make_tree(tmp_path, MODS)
    out = run(
        """
        import os, threading
        from sqreen.importhook import _registry
        held, release = threading.Event(), threading.Event()
        def hold():
            with _registry.locked():
                held.set()
                release.wait()
        t = threading.Thread(target=hold)
        t.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            calls = []
            ih.register("first", lambda m: calls.append(m.X))
            import first
            os._exit(0 if calls == [1] else 3)
        release.set()
        t.join()
        print(os.waitpid(pid, 0)[1])
        """,
        root,
        timeout=30,
    )
    assert out == ["0"]
