"""A POSIX shell lexer that tells which parts of a command line are words and which are structure.

Shell injection is an input that changes the *structure* of a command line
(adds an operator, a word, an expansion, or leaves a quote) rather than
staying data inside one word. To tell, the command is cut into tokens the
way ``sh`` reads it: blanks, operators (``;`` ``&&`` ``|`` redirections,
here-doc markers, newlines), comments, quotes, backslash escapes, and the
expansions ``$NAME``, ``${...}``, ``$(...)`` and backquotes, whose insides
are lexed again as commands.

The lexer is one linear pass, never raises, and its tokens cover the text
exactly, so a position in the command always belongs to one token. Each
token is a tuple ``(kind, start, end, depth_before, depth_after)`` where
depth counts the quotes and expansions open around it: a quote or
expansion opener goes one deeper, its closer one shallower.
"""

WORD = "word"  # literal characters (inside quotes too)
ESCAPE = "escape"  # a backslash and the character it quotes
QUOTE = "quote"  # an opening or closing quote: ' " $' $"
BLANK = "blank"  # spaces and tabs that separate words
OP = "op"  # control and redirection operators, newline, ( and )
COMMENT = "comment"  # from a # at a word start to the end of the line
EXPANSION = "expansion"  # $NAME, $1, $? ... or an opener: $( ${ `
CLOSE = "close"  # the ) } or ` that closes an expansion

# Longest first: the lexer takes the longest operator that matches.
_OPERATORS = ("<<-", "&>>", ";;&", "&&", "||", ";;", ";&", "<<", ">>", "<&", ">&", "<>", ">|", "&>", "|&")
_OPERATOR_CHARS = frozenset(";&|<>()\n")
_BLANKS = frozenset(" \t")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_SPECIAL_PARAMETERS = frozenset("@*#?$!-0123456789")

# Contexts on the stack (the top decides how the next character reads).
_SINGLE, _DOUBLE, _ANSI, _SUBST, _PAREN, _TICK, _PARAM = range(7)
_COMMAND_CONTEXTS = frozenset((_SUBST, _PAREN, _TICK))


class _Lexer(object):
    """The state of one pass; :func:`tokenize` is the interface."""

    __slots__ = ("text", "tokens", "stack", "word_start", "at_word_start")

    def __init__(self, text):
        self.text = text
        self.tokens = []
        self.stack = []
        self.word_start = -1
        self.at_word_start = True

    def flush(self, pos):
        """End the pending run of literal characters at ``pos``."""
        if self.word_start >= 0:
            depth = len(self.stack)
            self.tokens.append((WORD, self.word_start, pos, depth, depth))
            self.word_start = -1

    def emit(self, kind, start, end, push=None, pop=0):
        """Add a token, opening the context ``push`` or closing ``pop`` contexts."""
        self.flush(start)
        before = len(self.stack)
        if push is not None:
            self.stack.append(push)
        for _ in range(pop):
            self.stack.pop()
        self.tokens.append((kind, start, end, before, len(self.stack)))
        return end

    def literal(self, pos):
        if self.word_start < 0:
            self.word_start = pos
        return pos + 1

    def run(self):
        text = self.text
        n = len(text)
        i = 0
        while i < n:
            top = self.stack[-1] if self.stack else _SUBST
            if top == _SINGLE:
                close = text.find("'", i)
                if close < 0:
                    self.literal(i)
                    i = n
                else:
                    if close > i:
                        self.literal(i)
                    i = self.emit(QUOTE, close, close + 1, pop=1)
            elif top == _DOUBLE:
                i = self.in_double(i)
            elif top == _ANSI:
                i = self.in_ansi(i)
            elif top == _PARAM:
                i = self.in_param(i)
            else:
                i = self.in_command(i)
        self.flush(n)
        return self.tokens

    def escape(self, i):
        """A backslash: it quotes the next character (a lone one at the end is literal)."""
        if i + 1 < len(self.text):
            return self.emit(ESCAPE, i, i + 2)
        return self.literal(i)

    def in_double(self, i):
        c = self.text[i]
        if c == '"':
            return self.emit(QUOTE, i, i + 1, pop=1)
        if c == "\\":
            return self.escape(i)
        if c == "$" or c == "`":
            return self.expansion(i, quoted=True)
        return self.literal(i)

    def in_ansi(self, i):
        c = self.text[i]
        if c == "'":
            return self.emit(QUOTE, i, i + 1, pop=1)
        if c == "\\":
            return self.escape(i)
        return self.literal(i)

    def in_param(self, i):
        c = self.text[i]
        if c == "}":
            return self.emit(CLOSE, i, i + 1, pop=1)
        if c == "'":
            return self.emit(QUOTE, i, i + 1, push=_SINGLE)
        if c == '"':
            return self.emit(QUOTE, i, i + 1, push=_DOUBLE)
        if c == "\\":
            return self.escape(i)
        if c == "$" or c == "`":
            return self.expansion(i, quoted=False)
        return self.literal(i)

    def in_command(self, i):
        text = self.text
        c = text[i]
        if c in _BLANKS:
            j = i + 1
            while j < len(text) and text[j] in _BLANKS:
                j += 1
            self.at_word_start = True
            return self.emit(BLANK, i, j)
        if c in _OPERATOR_CHARS:
            return self.operator(i)
        if c == "#" and self.at_word_start:
            end = text.find("\n", i)
            return self.emit(COMMENT, i, len(text) if end < 0 else end)
        self.at_word_start = False
        if c == "\\":
            return self.escape(i)
        if c == "'":
            return self.emit(QUOTE, i, i + 1, push=_SINGLE)
        if c == '"':
            return self.emit(QUOTE, i, i + 1, push=_DOUBLE)
        if c == "$" or c == "`":
            return self.expansion(i, quoted=False)
        return self.literal(i)

    def operator(self, i):
        text = self.text
        c = text[i]
        self.at_word_start = True
        if c == "(":
            return self.emit(OP, i, i + 1, push=_PAREN)
        if c == ")":
            top = self.stack[-1] if self.stack else None
            if top == _SUBST:
                self.at_word_start = False  # $(...) is part of the word around it
                return self.emit(CLOSE, i, i + 1, pop=1)
            return self.emit(OP, i, i + 1, pop=1 if top == _PAREN else 0)
        for op in _OPERATORS:
            if text.startswith(op, i):
                return self.emit(OP, i, i + len(op))
        return self.emit(OP, i, i + 1)

    def expansion(self, i, quoted):
        """``$`` or a backquote at ``i``; ``quoted`` inside double quotes."""
        text = self.text
        if text[i] == "`":
            if _TICK in self.stack:
                depth = len(self.stack) - self.stack[::-1].index(_TICK) - 1
                self.at_word_start = False
                return self.emit(CLOSE, i, i + 1, pop=len(self.stack) - depth)
            self.at_word_start = True
            return self.emit(EXPANSION, i, i + 1, push=_TICK)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "(":
            self.at_word_start = True
            return self.emit(EXPANSION, i, i + 2, push=_SUBST)
        if nxt == "{":
            return self.emit(EXPANSION, i, i + 2, push=_PARAM)
        if nxt == "'" and not quoted:
            return self.emit(QUOTE, i, i + 2, push=_ANSI)
        if nxt == '"' and not quoted:
            return self.emit(QUOTE, i, i + 2, push=_DOUBLE)
        if nxt in _NAME_START:
            j = i + 2
            while j < len(text) and text[j] in _NAME_CHARS:
                j += 1
            return self.emit(EXPANSION, i, j)
        if nxt and nxt in _SPECIAL_PARAMETERS:
            return self.emit(EXPANSION, i, i + 2)
        return self.literal(i)


def tokenize(text):
    """The tokens of the command line ``text`` (str), in order, covering it exactly."""
    return _Lexer(text).run()


def words(tokens):
    """Group tokens into the command's words: lists of tokens between blanks, operators and comments.

    Only the outermost level splits words; what an expansion holds stays in
    the word that contains it.
    """
    out = []
    current = []
    for token in tokens:
        if token[0] in (BLANK, OP, COMMENT) and min(token[3], token[4]) == 0:
            if current:
                out.append(current)
                current = []
        else:
            current.append(token)
    if current:
        out.append(current)
    return out
