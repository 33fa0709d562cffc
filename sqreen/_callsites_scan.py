"""Find, in a module's AST, where SQL, shell commands and file paths are built from pieces.

Used by :mod:`sqreen._callsites` at transform time only. A string is "built"
when it comes from ``+`` with a string literal on one side, ``%`` or
``.format()`` on a string literal, or an f-string with a replacement field.
Such an expression is a site of kind

- ``sql`` when its literal part starts like a statement (``SELECT``,
  ``INSERT``, ``UPDATE``, ``DELETE``), or when it is passed to
  ``execute``-like methods;
- ``shell`` when passed to ``os.system``, ``os.popen`` or a ``subprocess``
  function with ``shell=True``;
- ``path`` when passed to ``open`` or a file-system function of ``os`` /
  ``shutil``.

"Passed" means written as the first argument, or assigned to a local name
earlier in the same function that is then the first argument; the site is
the expression that builds the string. This is a syntactic heuristic meant
to rank code for the protections, not a data-flow analysis.
"""
import ast
import re
import sys

_SQL_START = re.compile(r"\s*\(?\s*(select|insert|update|delete)\s", re.I)
_SQL_METHODS = frozenset(["execute", "executemany", "executescript", "mogrify", "raw"])
_SHELL_ALWAYS = frozenset(
    ["os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
     "commands.getoutput", "commands.getstatusoutput"]
)
_SHELL_IF_ASKED = frozenset(
    ["subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.run",
     "subprocess.Popen"]
)
_PATH_FUNCTIONS = frozenset(
    ["open", "io.open", "codecs.open", "os.open", "os.remove", "os.unlink", "os.rmdir", "os.mkdir",
     "os.makedirs", "os.listdir", "os.rename", "os.chmod", "shutil.rmtree", "shutil.copy",
     "shutil.copyfile", "shutil.move"]
)


def _literal(node):
    """The text of a string literal node, else None."""
    if sys.version_info >= (3, 8):
        value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
    else:
        value = node.s if isinstance(node, ast.Str) else None
    return value if isinstance(value, type(u"")) or isinstance(value, str) else None


def _leading_text(node):
    """The literal text a built string starts with ('' if unknown), or None if not built."""
    if isinstance(node, getattr(ast, "JoinedStr", ())):
        if not any(isinstance(v, ast.FormattedValue) for v in node.values):
            return None
        return (_literal(node.values[0]) or "") if node.values else ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        if left is not None and right is not None:
            return None  # two literals: a constant
        left_built = _leading_text(node.left)
        if left is not None or left_built is not None:
            return left if left is not None else left_built
        return "" if right is not None or _leading_text(node.right) is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = _literal(node.left)
        return left if left is not None else _leading_text(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _literal(node.func.value)
    return None


def _is_true(node):
    return getattr(node, "value", None) is True or getattr(node, "id", None) == "True"


class _Scanner(ast.NodeVisitor):
    def __init__(self):
        self.found = {}  # (lineno, col) -> kind; the first kind found wins
        self.aliases = {}  # local name -> dotted name it was imported as
        self.scopes = [{}]  # per function: local name -> the built expression assigned to it

    def add(self, node, kind):
        start = node
        while isinstance(start, ast.BinOp):  # before 3.8, a BinOp's own column can be its operator's
            start = start.left
        self.found.setdefault((start.lineno, start.col_offset), kind)

    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.module and not node.level:
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = "%s.%s" % (node.module, alias.name)

    def _scoped(self, node):
        self.scopes.append({})
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _scoped

    def visit_Assign(self, node):
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if _leading_text(node.value) is not None:
                self.scopes[-1][node.targets[0].id] = node.value
            else:
                self.scopes[-1].pop(node.targets[0].id, None)
        self.generic_visit(node)

    def generic_visit(self, node):
        text = _leading_text(node) if isinstance(node, ast.expr) else None
        if text is not None and _SQL_START.match(text):
            self.add(node, "sql")
        ast.NodeVisitor.generic_visit(self, node)

    def visit_Call(self, node):
        kind = self._sink_kind(node)
        if kind and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Name):
                arg = self.scopes[-1].get(arg.id, arg)
            if _leading_text(arg) is not None:
                self.add(arg, kind)
        self.generic_visit(node)

    def _dotted(self, node):
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return base and "%s.%s" % (base, node.attr)
        return None

    def _sink_kind(self, call):
        if isinstance(call.func, ast.Attribute) and call.func.attr in _SQL_METHODS:
            return "sql"
        name = self._dotted(call.func)
        if name in _SHELL_ALWAYS:
            return "shell"
        if name in _SHELL_IF_ASKED and any(k.arg == "shell" and _is_true(k.value) for k in call.keywords):
            return "shell"
        if name in _PATH_FUNCTIONS:
            return "path"
        return None


def scan(tree):
    """Sorted ``(lineno, col, kind)`` of the sites in ``tree``."""
    scanner = _Scanner()
    scanner.visit(tree)
    return sorted((line, col, kind) for (line, col), kind in scanner.found.items())
