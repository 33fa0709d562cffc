"""A MongoDB server for the tests: the real wire protocol on loopback, mongomock's query engine behind it.

No MongoDB server can be installed here, so pymongo is tested, unmodified,
against this one: it answers OP_MSG commands and the legacy OP_QUERY
``isMaster`` / ``hello`` handshake on 127.0.0.1 (an ephemeral port), with the
documents encoded and decoded by pymongo's own ``bson``. Queries, updates and
pipelines are evaluated by mongomock, which implements the operators the
attacks use (``$ne``, ``$gt``, ``$regex``, ``$in``, ``$expr``...); ``$where``
and other server-side JavaScript answer an error, as a server without
JavaScript does. Every result comes in a cursor's first batch.

``start()`` returns a running :class:`MongoServer`; ``python -m tests.mongo_server``
serves until interrupted, printing ``LISTENING <port>``.
"""
from __future__ import print_function

import datetime
import os
import socket
import struct
import sys
import threading

import bson
import mongomock
from bson.codec_options import CodecOptions
from bson.son import SON
from bson.tz_util import utc
from six.moves import socketserver

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
_HEADER = struct.Struct("<iiii")
_CODEC = CodecOptions(document_class=SON, tz_aware=True)
_MORE_TO_COME = 2
_CHECKSUM = 1


class CommandError(Exception):
    """A command failure, answered as ``{ok: 0, errmsg, code}``."""

    def __init__(self, message, code=2):
        Exception.__init__(self, message)
        self.code = code


def _hello(server):
    return SON([("ismaster", True), ("isWritablePrimary", True), ("helloOk", True),
                ("maxBsonObjectSize", 16 * 1024 * 1024), ("maxMessageSizeBytes", 48000000),
                ("maxWriteBatchSize", 100000), ("localTime", datetime.datetime.now(utc)),
                ("logicalSessionTimeoutMinutes", 30), ("connectionId", 1),
                ("minWireVersion", 0), ("maxWireVersion", 17), ("readOnly", False)])


def _cursor(ns, docs):
    return SON([("cursor", SON([("id", bson.int64.Int64(0)), ("ns", ns), ("firstBatch", docs)]))])


def _plain(doc):
    """A decoded SON document as plain dicts and lists, the shape mongomock evaluates best."""
    if isinstance(doc, dict):
        return dict((k, _plain(v)) for k, v in doc.items())
    if isinstance(doc, list):
        return [_plain(v) for v in doc]
    return doc


_JS_OPERATORS = ("$where", "$function", "$accumulator")


def _javascript(doc, depth=0):
    """True when ``doc`` uses a JavaScript operator anywhere (as a key)."""
    if depth > 100:
        return False
    if isinstance(doc, dict):
        return any(k in _JS_OPERATORS or _javascript(v, depth + 1) for k, v in doc.items())
    if isinstance(doc, list):
        return any(_javascript(v, depth + 1) for v in doc)
    return False


def _sort_spec(sort):
    return list(sort.items()) if sort else None


def _update(coll, q, u, upsert, multi):
    if isinstance(u, list):
        raise CommandError("update pipelines are not supported by this test server")
    if any(k.startswith("$") for k in u):
        method = coll.update_many if multi else coll.update_one
        return method(q, u, upsert=upsert)
    return coll.replace_one(q, u, upsert=upsert)


class Backend(object):
    """The commands the tests' pymongo sends, on one mongomock client."""

    def __init__(self):
        self.client = mongomock.MongoClient()
        self.lock = threading.Lock()

    def run(self, cmd):
        name = next(iter(cmd))
        handler = getattr(self, "cmd_" + name.lower(), None)
        if handler is None:
            raise CommandError("no such command: '%s'" % name, 59)
        if _javascript(cmd):
            raise CommandError("no JavaScript on this test server ($where, $function, $accumulator)", 2)
        with self.lock:
            reply = handler(cmd, self.client[cmd.get("$db", "test")])
        reply["ok"] = 1.0
        return reply

    def cmd_ismaster(self, cmd, db):
        return _hello(self)

    cmd_hello = cmd_ismaster

    def cmd_buildinfo(self, cmd, db):
        return SON([("version", "6.0.0"), ("versionArray", [6, 0, 0, 0]), ("maxBsonObjectSize", 16777216)])

    def cmd_ping(self, cmd, db):
        return SON()

    cmd_endsessions = cmd_killcursors = cmd_ping

    def cmd_drop(self, cmd, db):
        db.drop_collection(cmd["drop"])
        return SON()

    def cmd_dropdatabase(self, cmd, db):
        self.client.drop_database(db.name)
        return SON()

    def cmd_create(self, cmd, db):
        db.create_collection(cmd["create"])
        return SON()

    def cmd_createindexes(self, cmd, db):
        return SON()

    def cmd_find(self, cmd, db):
        coll = db[cmd["find"]]
        docs = coll.find(_plain(cmd.get("filter") or {}), projection=_plain(cmd.get("projection")),
                         skip=cmd.get("skip", 0), limit=abs(cmd.get("limit", 0)),
                         sort=_sort_spec(cmd.get("sort")))
        docs = list(docs)
        if cmd.get("singleBatch") and cmd.get("limit"):
            docs = docs[:abs(cmd["limit"])]
        return _cursor("%s.%s" % (db.name, cmd["find"]), docs)

    def cmd_aggregate(self, cmd, db):
        pipeline = _plain(cmd["pipeline"])
        if pipeline and "$collStats" in pipeline[0]:  # estimated_document_count on pymongo 3.13
            docs = [{"_id": 1, "n": db[cmd["aggregate"]].count_documents({})}]
        else:
            docs = list(db[cmd["aggregate"]].aggregate(pipeline))
        return _cursor("%s.%s" % (db.name, cmd["aggregate"]), docs)

    def cmd_count(self, cmd, db):
        return SON([("n", db[cmd["count"]].count_documents(_plain(cmd.get("query") or {})))])

    def cmd_distinct(self, cmd, db):
        values = db[cmd["distinct"]].distinct(cmd["key"], _plain(cmd.get("query") or {}))
        return SON([("values", values)])

    def cmd_insert(self, cmd, db):
        docs = [_plain(d) for d in cmd.get("documents", [])]
        if docs:
            db[cmd["insert"]].insert_many(docs)
        return SON([("n", len(docs))])

    def cmd_update(self, cmd, db):
        coll = db[cmd["update"]]
        n = modified = 0
        upserted = []
        for i, spec in enumerate(cmd.get("updates", [])):
            result = _update(coll, _plain(spec["q"]), _plain(spec["u"]), spec.get("upsert", False),
                             spec.get("multi", False))
            if result.upserted_id is not None:
                upserted.append(SON([("index", i), ("_id", result.upserted_id)]))
                n += 1
            else:
                n += result.matched_count
                modified += result.modified_count
        reply = SON([("n", n), ("nModified", modified)])
        if upserted:
            reply["upserted"] = upserted
        return reply

    def cmd_delete(self, cmd, db):
        coll = db[cmd["delete"]]
        n = 0
        for spec in cmd.get("deletes", []):
            q = _plain(spec["q"])
            n += (coll.delete_one(q) if spec.get("limit") else coll.delete_many(q)).deleted_count
        return SON([("n", n)])

    def cmd_findandmodify(self, cmd, db):
        coll = db[cmd["findAndModify"] if "findAndModify" in cmd else cmd["findandmodify"]]
        query, sort = _plain(cmd.get("query") or {}), _sort_spec(cmd.get("sort"))
        projection, new = _plain(cmd.get("fields")), bool(cmd.get("new"))
        before = coll.find_one(query, sort=sort)
        if cmd.get("remove"):
            value = coll.find_one_and_delete(query, projection=projection, sort=sort)
        elif any(k.startswith("$") for k in cmd.get("update", {})):
            value = coll.find_one_and_update(query, _plain(cmd["update"]), projection=projection, sort=sort,
                                             upsert=cmd.get("upsert", False), return_document=new)
        else:
            value = coll.find_one_and_replace(query, _plain(cmd["update"]), projection=projection,
                                              sort=sort, upsert=cmd.get("upsert", False),
                                              return_document=new)
        last = SON([("n", 1 if (before is not None or value is not None) else 0),
                    ("updatedExisting", before is not None)])
        return SON([("lastErrorObject", last), ("value", value)])


def _reply_msg(request_id, doc):
    body = struct.pack("<IB", 0, 0) + bson.encode(doc)
    return _HEADER.pack(_HEADER.size + len(body), 0, request_id, OP_MSG) + body


def _reply_legacy(request_id, doc):
    body = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(doc)
    return _HEADER.pack(_HEADER.size + len(body), 0, request_id, OP_REPLY) + body


def parse_msg(data):
    """``(flags, command document)`` of an OP_MSG body, its document sequences folded into the command."""
    flags = struct.unpack_from("<I", data)[0]
    end = len(data) - (4 if flags & _CHECKSUM else 0)
    pos, cmd, sequences = 4, None, []
    while pos < end:
        kind = ord(data[pos:pos + 1])
        pos += 1
        size = struct.unpack_from("<i", data, pos)[0]
        if kind == 0:
            cmd = bson.decode(data[pos:pos + size], codec_options=_CODEC)
        else:
            ident_end = data.index(b"\x00", pos + 4)
            ident = data[pos + 4:ident_end].decode("utf-8")
            sequences.append((ident, bson.decode_all(data[ident_end + 1:pos + size], _CODEC)))
        pos += size
    for ident, docs in sequences:
        cmd[ident] = docs
    return flags, cmd


def parse_query(data):
    """The command document of a legacy OP_QUERY (``db.$cmd``), with its ``$db``."""
    pos = data.index(b"\x00", 4)
    collection = data[4:pos].decode("utf-8")
    pos += 9  # NUL, numberToSkip, numberToReturn
    size = struct.unpack_from("<i", data, pos)[0]
    cmd = bson.decode(data[pos:pos + size], codec_options=_CODEC)
    if "$query" in cmd:
        cmd = cmd["$query"]
    cmd["$db"] = collection.split(".")[0]
    return cmd


def answer(backend, cmd):
    """The reply document to ``cmd``: the command's result, or an ``ok: 0`` error."""
    try:
        return backend.run(cmd)
    except CommandError as exc:
        return SON([("ok", 0.0), ("errmsg", str(exc)), ("code", exc.code)])
    except Exception as exc:  # an unsupported feature in mongomock: an error for the client, not a crash
        return SON([("ok", 0.0), ("errmsg", "%s: %s" % (type(exc).__name__, exc)), ("code", 2)])


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            self.serve()
        except socket.error:  # the client went away: as mongod does, forget the connection
            pass

    def serve(self):
        sock = self.request
        while True:
            header = _read(sock, _HEADER.size)
            if header is None:
                return
            length, request_id, _, opcode = _HEADER.unpack(header)
            data = _read(sock, length - _HEADER.size)
            if data is None:
                return
            self.server.opcodes.add(opcode)
            if opcode == OP_MSG:
                flags, cmd = parse_msg(data)
                reply = answer(self.server.backend, cmd)
                if not flags & _MORE_TO_COME:
                    sock.sendall(_reply_msg(request_id, reply))
            elif opcode == OP_QUERY:
                sock.sendall(_reply_legacy(request_id, answer(self.server.backend, parse_query(data))))
            else:
                return  # an opcode this server does not speak: close, as mongod does


def _read(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class MongoServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """The server; ``url`` is what ``MongoClient`` takes, ``backend.client`` the data behind it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port=0):
        socketserver.TCPServer.__init__(self, ("127.0.0.1", port), _Handler)
        self.backend = Backend()
        self.opcodes = set()  # the opcodes clients sent, for the tests
        self.port = self.server_address[1]
        self.url = "mongodb://127.0.0.1:%d/?directConnection=true" % self.port
        self.thread = None

    def stop(self):
        self.shutdown()
        self.server_close()


def start(port=0):
    """A :class:`MongoServer` serving from a daemon thread."""
    server = MongoServer(port)
    server.thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="mongo-test-server")
    server.thread.daemon = True
    server.thread.start()
    return server


def targets():
    """The servers pymongo is tested against: ``"wire"`` (this one), and ``"real"`` when
    ``SQREEN_TEST_MONGODB_URL`` names a real MongoDB."""
    return ["wire"] + (["real"] if os.environ.get("SQREEN_TEST_MONGODB_URL") else [])


class Target(object):
    """A MongoDB to test against: ``url``, and ``stop()`` when done."""

    def __init__(self, kind):
        self.kind = kind
        self.server = start() if kind == "wire" else None
        self.url = self.server.url if self.server else os.environ["SQREEN_TEST_MONGODB_URL"]

    def stop(self):
        if self.server is not None:
            self.server.stop()


def target_fixture():
    """A module-scoped pytest fixture: each :class:`Target` of :func:`targets` in turn."""
    import pytest

    @pytest.fixture(scope="module", params=targets())
    def target(request):
        running = Target(request.param)
        yield running
        running.stop()

    return target


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    server = MongoServer(int(argv[0]) if argv else 0)
    print("LISTENING %d" % server.port)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
