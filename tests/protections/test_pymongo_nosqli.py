"""NoSQL injection on pymongo: each hooked method, in requests served in-process by the middleware,
against the tests' wire-level MongoDB server (and a real one when ``SQREEN_TEST_MONGODB_URL`` is set)."""
from __future__ import unicode_literals

import pytest

from tests.web.conftest import Agent, in_request

pymongo = pytest.importorskip("pymongo")
pytest.importorskip("mongomock")

from bson.son import SON  # noqa: E402
from pymongo import DeleteMany, UpdateOne  # noqa: E402

from sqreen.integrations import pymongo as integration  # noqa: E402
from tests import mongo_server  # noqa: E402

NE = {"$ne": None}


target = mongo_server.target_fixture()


@pytest.fixture
def users(target):
    integration.patch(pymongo)
    client = pymongo.MongoClient(target.url, serverSelectionTimeoutMS=5000)
    coll = client.sqreen_nosqli_test.users
    coll.delete_many({})
    coll.insert_many([{"u": "admin", "pw": "s3cret", "team": "ops"}, {"u": "bob", "pw": "pw", "team": "dev"}])
    yield coll
    integration.unpatch()
    coll.drop()
    client.close()


@pytest.fixture
def agent(monkeypatch, tmpdir):
    return Agent(monkeypatch, str(tmpdir))


def body_of(request):
    return request.json


# name -> (the operation on the collection, given the request's JSON body, how to tell it ran)
OPERATIONS = {
    "find": lambda c, b: [d["u"] for d in c.find({"u": b["u"]})],
    "find_one": lambda c, b: c.find_one({"u": b["u"], "pw": b["pw"]}),
    "count_documents": lambda c, b: c.count_documents({"team": b["team"]}),
    "distinct": lambda c, b: c.distinct("u", {"team": b["team"]}),
    "aggregate": lambda c, b: list(c.aggregate([{"$match": {"team": b["team"]}}])),
    "update_one": lambda c, b: c.update_one({"u": b["u"]}, {"$set": {"pw": "x"}}).modified_count,
    "update_many": lambda c, b: c.update_many({"u": b["u"]}, {"$set": {"pw": "x"}}).modified_count,
    "replace_one": lambda c, b: c.replace_one({"u": b["u"]}, {"u": "gone"}).modified_count,
    "delete_one": lambda c, b: c.delete_one({"u": b["u"]}).deleted_count,
    "delete_many": lambda c, b: c.delete_many({"u": b["u"]}).deleted_count,
    "find_one_and_update": lambda c, b: c.find_one_and_update({"u": b["u"]}, {"$set": {"pw": "x"}}),
    "find_one_and_replace": lambda c, b: c.find_one_and_replace({"u": b["u"]}, {"u": "gone"}),
    "find_one_and_delete": lambda c, b: c.find_one_and_delete({"u": b["u"]}),
    "bulk_write": lambda c, b: c.bulk_write(
        [UpdateOne({"u": b["u"]}, {"$set": {"pw": "x"}}), DeleteMany({"u": "nobody"})]).modified_count,
    "command": lambda c, b: c.database.command(SON([("find", c.name), ("filter", {"u": b["u"]})]))["ok"],
}
ATTACK_BODY = {"u": NE, "pw": NE, "team": {"$gt": ""}}
BENIGN_BODY = {"u": "bob", "pw": "pw", "team": "dev"}


def snapshot(users):
    return sorted((d["u"], d["pw"]) for d in users.find({}, {"_id": 0}))


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_monitor_reports_one_event_and_the_operation_runs(agent, users, name):
    served, results = in_request(agent, lambda r: OPERATIONS[name](users, body_of(r)), body=ATTACK_BODY)
    assert served.status == "200 OK" and results[0], (served.error, results)
    [event] = agent.attacks()
    assert event["attack_type"] == "nosqli" and not event["blocked"]
    assert event["input"]["source"] == "json" and event["input"]["name"] in ("u.$ne", "pw.$ne", "team.$gt")
    assert event["detail"]["driver"] == "pymongo" and event["detail"]["operator"] in ("$ne", "$gt")


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_block_stops_the_operation_before_it_is_sent(agent, users, name):
    before = snapshot(users)
    served, results = in_request(agent, lambda r: OPERATIONS[name](users, body_of(r)), mode="block",
                                 body=ATTACK_BODY)
    assert served.status.startswith("403") and results == []
    [event] = agent.attacks()
    assert event["blocked"] and snapshot(users) == before


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_benign_values_run_unreported(agent, users, name):
    served, results = in_request(agent, lambda r: OPERATIONS[name](users, body_of(r)), mode="block",
                                 body=BENIGN_BODY)
    assert served.status == "200 OK" and served.error is None and agent.attacks() == []


def test_query_string_operators_an_app_nests(agent, users):
    def app(request):
        name = request.query["u[$ne]"][0]
        return users.find_one({"u": {"$ne": name}})

    served, results = in_request(agent, app, mode="block", query="u[$ne]=nobody")
    assert served.status.startswith("403")
    [event] = agent.attacks()
    assert event["input"] == {"source": "query", "name": "u[$ne]", "value": "nobody"}


def test_outside_a_request_nothing_is_checked(agent, users):
    agent.configure(mode="block")
    assert users.find_one({"u": NE}) is not None and agent.attacks() == []


def test_pymongo3_methods(agent, users):
    if "remove" not in vars(type(users)):
        pytest.skip("pymongo %s has no Collection.remove / update / count" % pymongo.version)
    served, _ = in_request(agent, lambda r: users.remove({"u": body_of(r)["u"]}), mode="block",
                           body=ATTACK_BODY)
    assert served.status.startswith("403") and len(snapshot(users)) == 2
    served, results = in_request(agent, lambda r: users.count({"u": body_of(r)["u"]}), body=ATTACK_BODY)
    assert results == [2] and len(agent.attacks()) == 2
