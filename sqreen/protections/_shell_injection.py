"""Shell injection: a request input that changes how a shell reads a command line.

An input that lands inside one word of the command is data, whatever it
holds (``;`` inside quotes the app added is just a character). It is an
injection when the part of the command it spells adds structure: a blank
that splits or adds words, an operator (``;`` ``&&`` ``|`` ``&``
redirections, newline), a comment, an expansion (``$(...)``, backquotes,
``${...}``, ``$VAR``), or a quote that closes one the app opened or stays
open past the input. Only a shell reads the line that way, so an argument
list run without a shell is never an injection, unless it starts a shell
itself (``['sh', '-c', cmd]``): then ``cmd`` is checked.

The environment handed to a program is checked for Shellshock: a variable
whose value is a function definition (``() { ...``) spelled by an input.
Any program may run bash underneath (CGI scripts did), so this does not
wait for the program to be a shell.
"""
import bisect

import six

from sqreen import _log
from sqreen.protections import _matching
from sqreen.protections import _shell_lexer as lexer
from sqreen.protections._attack import Attack
from sqreen.protections._pathtext import path_text as _text

ATTACK_TYPE = "shell_injection"


_SHELLS = frozenset(("sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh", "csh", "tcsh"))
#: Programs that run the next argument as a program (``env`` first skips options and NAME=value).
_LAUNCHERS = frozenset(("env", "busybox", "nohup", "exec", "command"))
_INSIDE_A_WORD = frozenset((lexer.WORD, lexer.ESCAPE, lexer.QUOTE))
_REASONS = {
    lexer.OP: "adds an operator",
    lexer.BLANK: "adds or splits words",
    lexer.COMMENT: "starts a comment",
    lexer.EXPANSION: "adds an expansion",
    lexer.CLOSE: "closes an expansion",
}


def _program(arg):
    return arg.rsplit("/", 1)[-1]


def shell_script(args):
    """The command string an argument list hands to a shell (``sh -c CMD``), else None.

    Launchers in front (``env``, ``busybox``, ``nohup``) are looked through.
    """
    i = 0
    while i < len(args) and _program(args[i]) in _LAUNCHERS:
        launcher = _program(args[i])
        i += 1
        while launcher == "env" and i < len(args) and (args[i].startswith("-") or "=" in args[i]):
            i += 1
    if i >= len(args) or _program(args[i]) not in _SHELLS:
        return None
    i += 1
    runs_string = False
    while i < len(args):
        arg = args[i]
        if arg in ("-", "--"):
            i += 1
            break
        if len(arg) < 2 or arg[0] not in "-+":
            break
        if not arg.startswith(("--", "++")):
            letters = arg[1:]
            runs_string = runs_string or (arg[0] == "-" and "c" in letters)
            if "o" in letters or "O" in letters:
                i += 1  # -o NAME takes the next argument
        i += 1
    if runs_string and i < len(args):
        return args[i]
    return None


def _depth_at(tokens, starts, pos):
    """How many quotes and expansions are open at the boundary ``pos`` of the command."""
    if pos <= 0:
        return 0
    token = tokens[bisect.bisect_right(starts, pos - 1) - 1]
    return token[4] if token[2] == pos else token[3]


def _blank_is_harmless(tokens, index, end, size):
    """A trailing blank of the input that only ends a word where the command ended one anyway."""
    token = tokens[index]
    if token[2] < end:
        return False
    if token[2] > end or token[2] == size:
        return True
    return tokens[index + 1][0] in (lexer.OP, lexer.COMMENT)


def structure_change(tokens, starts, start, end, size):
    """Why the command part ``[start, end)`` is more than data inside one word, or None."""
    first = bisect.bisect_right(starts, start) - 1
    depth = _depth_at(tokens, starts, start)
    index = first if tokens[first][1] == start else first + 1
    while index < len(tokens):
        kind, token_start, token_end, _, depth_after = tokens[index]
        if token_start >= end:
            break
        if kind not in _INSIDE_A_WORD:
            if not (kind == lexer.BLANK and _blank_is_harmless(tokens, index, end, size)):
                return _REASONS[kind]
        elif depth_after < depth:
            return "closes a quote"
        elif token_end > end and kind != lexer.WORD:
            return "quotes the character after it"
        index += 1
    if _depth_at(tokens, starts, end) != depth:
        return "leaves a quote or expansion open"
    return None


def check_script(script, inputs):
    """An :class:`Attack` when an input changes the structure of the shell command ``script``."""
    occurrences = _matching.find_occurrences(script, inputs)
    if not occurrences:
        return None
    script = _text(script)
    tokens = lexer.tokenize(script)
    starts = [token[1] for token in tokens]
    for item, start, end in occurrences:
        reason = structure_change(tokens, starts, start, end, len(script))
        if reason is not None:
            detail = {"command": script, "start": start, "end": end}
            return Attack(ATTACK_TYPE, item, reason, detail)
    return None


def check_environment(env, inputs):
    """An :class:`Attack` when an input spells a bash function definition in an environment value."""
    for name, value in env.items():
        value = _text(value)
        body = value.lstrip()
        if not (body.startswith("()") and body[2:].lstrip().startswith("{")):
            continue
        opening = len(value) - len(body)
        for item, start, end in _matching.find_occurrences(value, inputs):
            if start <= opening and end >= opening + 2:
                detail = {"variable": _text(name), "value": value}
                return Attack(ATTACK_TYPE, item, "function definition in the environment", detail)
    return None


def _script_of(command, shell):
    if isinstance(command, (six.text_type, bytes)):
        return command if shell else None
    args = [_text(arg) for arg in command]
    if shell:  # POSIX Popen runs ['/bin/sh', '-c', args[0], args[1], ...]
        return args[0] if args else None
    return shell_script(args)


def check_command(command, inputs, shell=True, env=None):
    """An :class:`Attack` when the request ``inputs`` inject into ``command``, else None.

    ``command`` is a string (run by a shell when ``shell``, as
    ``os.system`` does) or an argument list (``subprocess`` style); ``env``
    the environment mapping given to the program, if any. Never raises.
    """
    if not inputs:
        return None
    try:
        script = _script_of(command, shell)
        attack = check_script(script, inputs) if script is not None else None
        if attack is None and env:
            attack = check_environment(env, inputs)
        return attack
    except Exception:
        _log.log_once("protections.shell_injection", "shell injection check failed", exc_info=True)
        return None
