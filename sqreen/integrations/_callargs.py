"""One argument of a hooked call, whether the callbacks see the call as passed or bound.

The wrapper mechanism hands callbacks the arguments exactly as the caller
passed them; code injection binds positional parameters (defaults filled
in). Either way an argument is at its position when there are that many
positional arguments, else among the keywords under one of its names.
"""


def argument(args, kwargs, index, names, default=None):
    """The argument at ``index``, else the first of the keywords ``names`` that is given, else ``default``."""
    if len(args) > index:
        return args[index]
    for name in names:
        if name in kwargs:
            return kwargs[name]
    return default
