"""A ``wsgi.input`` stand-in that lets the agent read a body the application reads too.

Installed at the start of a request that declares a small enough
``Content-Length``; it keeps a copy of what the application reads, so that
when the agent needs the body later it takes that copy plus the rest, and
the application reads that rest from a buffer: it sees exactly the bytes it
would have seen without the agent, in the same order.
"""
import io


class InputTee(object):
    """A ``wsgi.input`` stand-in that keeps a copy of what the application reads.

    ``agent_body()`` returns the whole body once: what was read so far plus
    the rest, which the application then reads from a buffer.
    """

    __slots__ = ("stream", "length", "captured", "seen", "body", "lost")

    def __init__(self, stream, length):
        self.stream = stream
        self.length = length
        self.captured = []
        self.seen = 0
        self.body = None
        self.lost = False  # the app moved through the stream by a way not copied here

    def _keep(self, data):
        if self.body is None and data and self.seen < self.length:
            room = self.length - self.seen
            self.captured.append(data if len(data) <= room else data[:room])  # bytes are shared, not copied
            self.seen += len(data)
        return data

    def read(self, *args, **kwargs):
        return self._keep(self.stream.read(*args, **kwargs))

    def readline(self, *args, **kwargs):
        return self._keep(self.stream.readline(*args, **kwargs))

    def readinto(self, buffer):
        """Fill ``buffer`` as the stream would (Werkzeug 2.3+ reads bodies this way), keeping a copy."""
        readinto = getattr(self.stream, "readinto", None)
        if readinto is None:  # WSGI only promises read()
            data = self.stream.read(len(buffer))
            size = len(data)
            buffer[:size] = data
            self._keep(data)
            return size
        size = readinto(buffer)
        if size:
            self._keep(memoryview(buffer)[:size].tobytes())
        return size

    def readlines(self, *args, **kwargs):
        lines = self.stream.readlines(*args, **kwargs)
        for line in lines:
            self._keep(line)
        return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def __getattr__(self, name):
        if name in _UNTRACKED and self.body is None:
            self.lost = True
        return getattr(self.stream, name)

    def agent_body(self):
        """The whole body (bytes), read at most once; None when the app read it in a way not copied."""
        if self.lost:
            return None
        if self.body is None:
            head = b"".join(self.captured)
            rest = _read_exactly(self.stream, self.length - len(head)) if len(head) < self.length else b""
            self.stream = io.BytesIO(rest)
            self.body = head + rest
            self.captured = None
        return self.body


# Ways to move through a stream that the copy does not follow: once the app uses one, the agent
# leaves the body alone.
_UNTRACKED = frozenset(("readinto1", "read1", "peek", "seek", "truncate", "detach"))


def _read_exactly(stream, size):
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
