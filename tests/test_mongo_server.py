"""The tests' MongoDB wire-level server: pymongo, unmodified, round-trips through it (and a real MongoDB
when ``SQREEN_TEST_MONGODB_URL`` is set)."""
import pytest

pymongo = pytest.importorskip("pymongo")
pytest.importorskip("mongomock")

from tests import mongo_server  # noqa: E402


target = mongo_server.target_fixture()


@pytest.fixture
def users(target):
    client = pymongo.MongoClient(target.url, serverSelectionTimeoutMS=5000)
    coll = client.sqreen_server_test.users
    coll.delete_many({})
    coll.insert_many([{"u": "admin", "age": 40, "team": "ops"}, {"u": "bob", "age": 20, "team": "dev"},
                      {"u": "carol", "age": 30, "team": "dev"}])
    yield coll
    coll.drop()
    client.close()


def names(cursor):
    return sorted(d["u"] for d in cursor)


def test_handshake_and_commands(target, users):
    client = users.database.client
    assert client.admin.command("ping")["ok"] == 1
    assert client.server_info()["version"]
    if target.kind == "wire":
        # pymongo 3 (and 4 until 4.10) says its first hello in a legacy OP_QUERY, later ones in OP_MSG
        assert mongo_server.OP_MSG in target.server.opcodes
        assert target.server.opcodes <= {mongo_server.OP_MSG, mongo_server.OP_QUERY}
        if pymongo.version_tuple < (4,):
            assert mongo_server.OP_QUERY in target.server.opcodes


def test_legacy_op_query_is_master(target):
    """An OP_QUERY ``isMaster`` on ``admin.$cmd``, as drivers before pymongo 4 open with, gets an OP_REPLY."""
    import socket
    import struct

    import bson

    if target.kind != "wire":
        pytest.skip("a real server's OP_QUERY support depends on its version")
    query = (struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1)
             + bson.encode({"isMaster": 1}))
    message = struct.pack("<iiii", 16 + len(query), 7, 0, mongo_server.OP_QUERY) + query
    sock = socket.create_connection(("127.0.0.1", target.server.port), timeout=5)
    try:
        sock.sendall(message)
        header = mongo_server._read(sock, 16)
        length, _, response_to, opcode = struct.unpack("<iiii", header)
        reply = mongo_server._read(sock, length - 16)
    finally:
        sock.close()
    assert (response_to, opcode) == (7, mongo_server.OP_REPLY)
    doc = bson.decode(reply[20:])
    assert doc["ismaster"] is True and doc["ok"] == 1 and doc["maxWireVersion"] >= 6


def test_queries_evaluate_the_operators_attacks_use(users):
    assert names(users.find({"u": {"$ne": None}})) == ["admin", "bob", "carol"]
    assert names(users.find({"u": {"$gt": ""}})) == ["admin", "bob", "carol"]
    assert names(users.find({"u": {"$regex": "^a"}})) == ["admin"]
    assert names(users.find({"u": {"$in": ["bob", "x"]}})) == ["bob"]
    assert names(users.find({"$expr": {"$gt": ["$age", 25]}})) == ["admin", "carol"]
    assert names(users.find({"$or": [{"u": "bob"}, {"age": {"$gte": 40}}]})) == ["admin", "bob"]
    assert users.find_one({"u": "bob"}, {"_id": 0}) == {"u": "bob", "age": 20, "team": "dev"}
    assert [d["u"] for d in users.find({}, sort=[("age", -1)], skip=1, limit=1)] == ["carol"]


def test_counts_distinct_aggregate(users):
    assert users.count_documents({"team": "dev"}) == 2
    assert users.estimated_document_count() == 3
    assert sorted(users.distinct("team")) == ["dev", "ops"]
    out = list(users.aggregate([{"$match": {"team": "dev"}}, {"$group": {"_id": "$team", "n": {"$sum": 1}}}]))
    assert out == [{"_id": "dev", "n": 2}]


def test_writes(users):
    assert users.update_one({"u": "bob"}, {"$set": {"age": 21}}).modified_count == 1
    assert users.update_many({"team": "dev"}, {"$inc": {"age": 1}}).matched_count == 2
    assert users.replace_one({"u": "carol"}, {"u": "carol", "age": 5}).matched_count == 1
    assert users.update_one({"u": "dave"}, {"$set": {"age": 1}}, upsert=True).upserted_id is not None
    after = users.find_one_and_update({"u": "bob"}, {"$set": {"age": 50}},
                                      return_document=pymongo.ReturnDocument.AFTER)
    assert after["age"] == 50
    assert users.find_one_and_replace({"u": "dave"}, {"u": "dave", "age": 2})["age"] == 1
    assert users.find_one_and_delete({"u": "dave"})["u"] == "dave"
    assert users.delete_one({"team": "dev"}).deleted_count == 1
    assert users.delete_many({}).deleted_count == 2
    assert users.find_one({}) is None


def test_errors_come_back_as_operation_failures(target, users):
    if target.kind != "wire":
        pytest.skip("a real server may run JavaScript")
    with pytest.raises(pymongo.errors.OperationFailure):
        users.find_one({"$where": "this.u == 'bob'"})
    with pytest.raises(pymongo.errors.OperationFailure):
        users.database.command("noSuchCommand")
    assert users.find_one({"u": "bob"})["age"] == 20  # the connection goes on
