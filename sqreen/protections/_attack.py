"""What the shell, path and SSRF protections answer when an input bent a call."""
import collections

#: ``attack_type`` names the protection; ``input`` is the request's
#: ``(source, name, value)`` that did it; ``reason`` says how in a few words;
#: ``detail`` is a dict for the event (spans, the normalised target, ...).
Attack = collections.namedtuple("Attack", "attack_type input reason detail")
