"""On-disk cache of rewritten code objects, next to CPython's own ``.pyc``.

Parsing and transforming a module costs far more than loading it, so the
code a set of transformers produced is stored in ``__pycache__`` (or under
``PYTHONPYCACHEPREFIX``) and reused by later processes without parsing.

The file name is CPython's own cache name with an extra ``.sqreen-*`` part
before ``.pyc``, carrying the interpreter cache tag (through CPython's name),
the engine version and a digest of the transformer key, so it can never be
taken for, or overwrite, a ``.pyc`` the interpreter writes or reads.

File layout: ``SQRC`` + the interpreter's bytecode magic + the cache format
version + the source digest + the transformer key digest, then the
``marshal``-ed code object. The source digest is CPython's own keyed source
hash (the one hash-based ``.pyc`` files are checked with) plus CRC-32 and
length on 3.7+, a SHA-256 prefix on 2.7 and 3.6. Anything that does not match, or fails to read
or unmarshal, is a miss. A write goes to a temporary file in the same
directory, renamed over the final name, so a reader never sees a truncated
file even when several processes write at once. Failing to write (read-only
directory, ``sys.dont_write_bytecode``) only means the next process parses
again.
"""
import errno
import marshal
import os
import struct
import sys
import types
import zlib

from sqreen import _log

#: Bump when the layout of a cache file changes.
FORMAT_VERSION = 1

_PREFIX = b"SQRC"
_DIGEST_SIZE = 16
_HEADER = struct.Struct("<4s4sI%ds%ds" % (_DIGEST_SIZE, _DIGEST_SIZE))
_replace = getattr(os, "replace", os.rename)  # os.rename replaces atomically on POSIX


def _interpreter_magic():
    try:
        from importlib.util import MAGIC_NUMBER

        return bytes(MAGIC_NUMBER)
    except ImportError:  # Python 2.7
        import imp

        return imp.get_magic()


_MAGIC = _interpreter_magic()


def _cache_tag():
    tag = getattr(getattr(sys, "implementation", None), "cache_tag", None)
    if tag:
        return tag
    # 2.7 has neither sys.implementation nor imp.get_tag(); importing platform would cost milliseconds.
    implementation = "pypy" if hasattr(sys, "pypy_version_info") else "cpython"
    return "%s-%d%d" % ((implementation,) + tuple(sys.version_info[:2]))


def _digest_function():
    try:
        from _imp import source_hash  # 3.7+: the keyed hash CPython checks hash-based .pyc with
    except ImportError:
        import hashlib

        return lambda data: hashlib.sha256(data).digest()[:_DIGEST_SIZE]
    key = struct.unpack("<I", _PREFIX)[0]
    # Importing hashlib loads OpenSSL, which would cost a warm import more than all the rest.
    return lambda data: source_hash(key, data) + struct.pack(
        "<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF
    )


#: ``digest(data)``: a short, stable digest of ``data`` (bytes), for sources and keys.
digest = _digest_function()


def _interpreter_cache_path(source_path):
    """Where CPython would cache ``source_path``; honours PYTHONPYCACHEPREFIX and -O."""
    try:
        from importlib.util import cache_from_source
    except ImportError:  # Python 2.7: build the PEP 3147 name ourselves
        head, tail = os.path.split(source_path)
        stem = tail.rpartition(".")[0] or tail
        suffix = ".opt-%d" % sys.flags.optimize if sys.flags.optimize else ""
        return os.path.join(head, "__pycache__", "%s.%s%s.pyc" % (stem, _cache_tag(), suffix))
    return cache_from_source(source_path)


def cache_path(source_path, key_digest, engine_version):
    """The cache file for ``source_path`` under a transformer key, or None if there is none."""
    try:
        base = _interpreter_cache_path(source_path)
    except (NotImplementedError, ValueError):  # no cache tag, or an odd path
        return None
    if not base.endswith(".pyc"):
        return None
    key_hex = "".join("%02x" % b for b in bytearray(key_digest[:6]))
    return "%s.sqreen-%d-%s.pyc" % (base[:-4], engine_version, key_hex)


def _header(source_digest, key_digest):
    return _HEADER.pack(_PREFIX, _MAGIC, FORMAT_VERSION, source_digest, key_digest)


def load(path, source_digest, key_digest):
    """The cached code object at ``path`` if it is for this source and key, else None."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (IOError, OSError):
        return None
    expected = _header(source_digest, key_digest)
    if data[: _HEADER.size] != expected:
        if data[:4] == _PREFIX and len(data) >= _HEADER.size:
            _log.count("importhook.cache.stale")
        else:
            _log.count("importhook.cache.corrupt")
        return None
    try:
        code = marshal.loads(data[_HEADER.size:])
    except Exception:  # EOFError, ValueError, TypeError on a damaged body
        _log.count("importhook.cache.corrupt")
        return None
    if not isinstance(code, types.CodeType):
        _log.count("importhook.cache.corrupt")
        return None
    return code


def _makedirs(path):
    try:
        os.makedirs(path)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def store(path, source_digest, key_digest, code):
    """Write ``code`` to ``path`` atomically; True on success. Never raises."""
    if sys.dont_write_bytecode:
        return False
    tmp = None
    try:
        data = _header(source_digest, key_digest) + marshal.dumps(code)
        _makedirs(os.path.dirname(path))
        tmp = "%s.%d.%s.tmp" % (path, os.getpid(), "".join("%02x" % b for b in bytearray(os.urandom(4))))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        _replace(tmp, path)
        return True
    except Exception:  # read-only tree, full disk, ...: the next process parses again
        _log.count("importhook.cache.write_failed")
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False
