"""The JSON-lines file sink: the embedded default destination of events.

Each event is one line written with a single ``os.write()`` on a file
descriptor opened with ``O_APPEND``: the kernel then places every line
whole at the end of the file, so all the worker processes of one server
can share one file without their lines interleaving. The path ``-`` means
the process's standard error (a pipe there only keeps lines whole up to
``PIPE_BUF`` bytes).

If the file is rotated away (renamed or deleted) the sink notices on its
next batch and reopens the path. Errors (unwritable path, full disk) are
logged once, counted, and reported to the caller as undelivered lines.
"""
import errno
import os

from sqreen import _log

STDERR = "-"
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class FileSink(object):
    """Appends encoded lines (bytes ending in ``\\n``) to ``path``."""

    def __init__(self, path):
        self.path = path
        self._fd = None

    def send(self, lines, budget=None):
        """Write ``lines``; return how many were written whole."""
        fd = self._ensure_open()
        if fd is None:
            return 0
        written = 0
        for line in lines:
            try:
                _write_whole(fd, line)
            except (OSError, IOError) as exc:
                _log.log_once(
                    "reporter.file.write", "sqreen: cannot write events to %s: %s", self.path, exc,
                )
                self._drop_fd()
                return written
            written += 1
        return written

    def close(self):
        """Close the file (the next ``send`` reopens it)."""
        self._drop_fd()

    abandon = close

    def _ensure_open(self):
        if self.path == STDERR:
            return 2
        if self._fd is not None and self._rotated():
            self._drop_fd()
        if self._fd is None:
            try:
                self._fd = os.open(self.path, _FLAGS, 0o644)
            except (OSError, IOError) as exc:
                _log.log_once(
                    "reporter.file.open", "sqreen: cannot open events file %s: %s", self.path, exc,
                )
        return self._fd

    def _rotated(self):
        """True when ``path`` no longer names the file we hold open."""
        try:
            on_disk = os.stat(self.path)
            held = os.fstat(self._fd)
        except (OSError, IOError):
            return True
        return (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino)

    def _drop_fd(self):
        fd, self._fd = self._fd, None
        if fd is not None and fd != 2:
            try:
                os.close(fd)
            except (OSError, IOError):
                pass


def _write_whole(fd, data):
    """One ``os.write`` of ``data``; a short write is an error (disk full)."""
    while True:
        try:
            n = os.write(fd, data)
        except (OSError, IOError) as exc:
            if exc.errno == errno.EINTR:  # Python 2 does not retry by itself
                continue
            raise
        if n != len(data):
            _terminate_line(fd)
            raise IOError(errno.ENOSPC, "short write (%d of %d bytes)" % (n, len(data)))
        return


def _terminate_line(fd):
    """Best effort: end a partly written line so the next one starts clean."""
    try:
        os.write(fd, b"\n")
    except (OSError, IOError):
        pass
