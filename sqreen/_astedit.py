"""Helpers for AST transformers: inject code without moving the source's lines.

Injected statements take the location of an original node, so tracebacks,
``inspect`` and line numbers of the rewritten module still match its source,
and go after the docstring and ``from __future__`` imports, which must stay
first. See :mod:`sqreen.importhook._transform` for the rules transformers
follow (no new module globals, among others).
"""
import ast
import sys


def _parse(source):
    # dont_inherit: this module's __future__ flags must not change how the snippet parses.
    return compile(source, "<sqreen>", "exec", ast.PyCF_ONLY_AST, True)


def is_docstring(stmt):
    """Whether ``stmt`` is a bare string literal (the docstring, when it comes first)."""
    if not isinstance(stmt, ast.Expr):
        return False
    value = stmt.value
    if isinstance(value, getattr(ast, "Constant", ())) and isinstance(getattr(value, "value", None), str):
        return True
    return sys.version_info < (3, 8) and isinstance(value, ast.Str)


def _is_future_import(stmt):
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


def header_length(tree):
    """How many statements at the top of ``tree`` must stay first (docstring, future imports)."""
    body = tree.body
    n = 1 if body and is_docstring(body[0]) else 0
    while n < len(body) and _is_future_import(body[n]):
        n += 1
    return n


def _locate(node, anchor):
    node.lineno, node.col_offset = anchor.lineno, anchor.col_offset
    if "end_lineno" in node._attributes:
        end_lineno = getattr(anchor, "end_lineno", None)
        end_col = getattr(anchor, "end_col_offset", None)
        node.end_lineno = anchor.lineno if end_lineno is None else end_lineno
        node.end_col_offset = anchor.col_offset if end_col is None else end_col


def snippet(source, anchor):
    """Parse ``source`` into statements located at node ``anchor``, ready to inject."""
    stmts = _parse(source).body
    for stmt in stmts:
        for node in ast.walk(stmt):
            if "lineno" in node._attributes:
                _locate(node, anchor)
    return stmts


def insert_at_top(tree, source):
    """Inject the statements of ``source`` after the module's docstring and future imports.

    They take the location of the first statement they precede (or of the
    last header statement), so line numbers of the original code do not move.
    """
    n = header_length(tree)
    body = tree.body
    if n < len(body):
        anchor = body[n]
    elif body:
        anchor = body[-1]
    else:
        anchor = ast.Pass(lineno=1, col_offset=0)
    body[n:n] = snippet(source, anchor)
    return tree
