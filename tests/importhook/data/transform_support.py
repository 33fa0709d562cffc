"""Test support for the transform tests: a loader and sample transformers.

Imported by path (``tests/importhook/data`` on ``sys.path``) in the test
process and in fresh interpreters, so the transformers have the same
identity (module and name) in every process, as the cache key requires.
"""
import ast
import collections
import io
import os
import sys
import types

from sqreen import _astedit
from sqreen.importhook import _transform

try:
    from sqreen.importhook._registry import Transformer
except ImportError:  # the finder side has not landed yet
    Transformer = collections.namedtuple("Transformer", "prefix transform version")

MARKED = []
HITS = []


def mark(name):
    MARKED.append(name)


def hit(name):
    HITS.append(name)


def exec_code(fullname, path, code):
    """Run ``code`` as module ``fullname`` from ``path``, as a loader would."""
    module = types.ModuleType(fullname)
    module.__file__ = path
    sys.modules[fullname] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[fullname]
        raise
    return module


def load(fullname, path, transforms, version=1):
    """Import ``fullname`` from ``path`` through get_code; untransformed if it returns None."""
    transformers = [Transformer(fullname, t, version) for t in transforms]
    code = _transform.get_code(fullname, path, transformers)
    if code is None:
        with io.open(path, "rb") as f:
            code = compile(f.read(), path, "exec", 0, True)
    return exec_code(fullname, path, code)


def _count():
    path = os.environ.get("TRANSFORM_COUNT_FILE")
    if path:
        with open(path, "a") as f:
            f.write("x\n")


def marker(tree, name, filename):
    """Count the call, and make the module call ``mark(__name__)`` first thing."""
    _count()
    return _astedit.insert_at_top(
        tree, "__import__('transform_support', None, None, ['mark'], 0).mark(__name__)"
    )


class _Tracer(ast.NodeTransformer):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        body = node.body
        start = 1 if len(body) > 1 and _astedit.is_docstring(body[0]) else 0
        source = "__import__('transform_support', None, None, ['hit'], 0).hit(%r)" % node.name
        body[start:start] = _astedit.snippet(source, body[start])
        return node


def tracer(tree, name, filename):
    """Make every function record its name in HITS when called."""
    return _Tracer().visit(tree)


def in_place(tree, name, filename):
    """Change the tree in place and return None."""
    _astedit.insert_at_top(
        tree, "__import__('transform_support', None, None, ['mark'], 0).mark('in-place')"
    )


def broken(tree, name, filename):
    raise RuntimeError("this transformer is broken")


def not_compiling(tree, name, filename):
    """Put a ``return`` at module level: a valid tree that does not compile."""
    tree.body.append(ast.Return(value=None, lineno=1, col_offset=0))
    return tree


def write(path, text):
    """Write ``text`` to ``path`` (a str or path object) on 2.7 and 3."""
    with io.open(str(path), "w", encoding="utf-8") as f:
        f.write(text if isinstance(text, type(u"")) else text.decode("utf-8"))


def read(path):
    with io.open(str(path), encoding="utf-8") as f:
        return f.read()


def unlocated(tree, name, filename):
    """Append ``LOCATED = 1`` without any location: the engine fills them in."""
    tree.body.append(ast.Assign(targets=[ast.Name(id="LOCATED", ctx=ast.Store())], value=ast.Num(n=1)
                                if sys.version_info < (3, 8) else ast.Constant(value=1)))
    return tree


def returns_source(tree, name, filename):
    """Return source text instead of a tree: refused, not compiled as source."""
    return "MARKED.append('from source text')"
