"""A deliberately vulnerable Flask + pymongo app for the NoSQL injection tests.

Like many Node-style apps, it parses bracketed query and form names into
nested dicts (``username[$ne]=x`` becomes ``{"username": {"$ne": "x"}}``) and
takes JSON bodies as they come, then hands those values to MongoDB as if
they were scalars; one view concatenates a name into ``$where`` JavaScript.

Run as ``python -m tests.protections._mongo_app MONGO_URL DB PORT [--agent]``:
prints ``LISTENING <port>`` and serves on 127.0.0.1 until SIGTERM.
"""
import json
import re
import signal
import sys

USERS = [
    {"username": "admin", "password": "s3cr3t-admin-pw", "role": "admin", "team": "ops", "token": "t-admin"},
    {"username": "alice", "password": "wonderland", "role": "user", "team": "dev", "token": "t-alice"},
    {"username": "O'Brien", "password": "dublin", "role": "user", "team": "dev", "token": "t-obrien"},
    {"username": "$dollar", "password": "cash", "role": "user", "team": "fin", "token": "t-dollar"},
]


def seed(client, db_name):
    """Fresh ``users`` for the app in database ``db_name``."""
    users = client[db_name].users
    users.delete_many({})
    users.insert_many([dict(u) for u in USERS])


def nested(pairs):
    """``{name: value}`` from ``[(name, value)]``, ``a[b][c]`` names nested and ``a[]`` appended to a list."""
    out = {}
    for name, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", name)
        if not parts:
            continue
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            following = parts[i + 1] if not last else None
            if last:
                if isinstance(node, list):
                    node.append(value)
                else:
                    node[part] = value
                break
            child = [] if following == "[]" else {}
            if isinstance(node, list):
                node.append(child)
            else:
                child = node.setdefault(part, child)
            node = child
    return out


def make_app(client, db_name):
    import flask
    import pymongo.errors

    app = flask.Flask("mongo_app")
    users = client[db_name].users

    def params():
        if flask.request.is_json:
            return flask.request.get_json() or {}
        return nested(list(flask.request.values.items(multi=True)))

    @app.route("/login", methods=["POST"])
    def login():
        p = params()
        user = users.find_one({"username": p.get("username"), "password": p.get("password")})
        if user is None:
            return "Bad credentials", 401
        return "Welcome, %s" % user["username"]

    @app.route("/search")
    def search():
        q = flask.request.args.get("q", "")
        found = users.find({"username": {"$regex": "^" + re.escape(q)}}, {"_id": 0, "username": 1})
        return json.dumps(sorted(u["username"] for u in found))

    @app.route("/users")
    def list_users():
        found = users.find(params(), {"_id": 0, "username": 1}).sort("username", 1)
        return json.dumps([u["username"] for u in found])

    @app.route("/count")
    def count():
        return str(users.count_documents({"team": params().get("team")}))

    @app.route("/distinct")
    def distinct():
        return json.dumps(sorted(users.distinct("username", {"role": params().get("role")})))

    @app.route("/teams", methods=["POST"])
    def teams():
        pipeline = [{"$match": {"team": params().get("team")}},
                    {"$group": {"_id": "$team", "n": {"$sum": 1}}}]
        return json.dumps([doc["n"] for doc in users.aggregate(pipeline)])

    @app.route("/profile", methods=["POST"])
    def profile():
        p = params()
        result = users.update_one({"token": p.get("token")}, {"$set": {"bio": p.get("bio")}})
        return "updated %d" % result.modified_count

    @app.route("/reset", methods=["POST"])
    def reset():
        found = users.find_one_and_update({"username": params().get("username")}, {"$set": {"reset": True}})
        return "reset" if found else "unknown"

    @app.route("/unsubscribe", methods=["POST"])
    def unsubscribe():
        return "deleted %d" % users.delete_one({"token": params().get("token")}).deleted_count

    @app.route("/where")
    def where():
        name = flask.request.args.get("name", "")
        try:
            found = list(users.find({"$where": "this.username == '" + name + "'"}, {"_id": 0}))
        except pymongo.errors.OperationFailure as exc:  # a server without JavaScript
            return "no javascript: %s" % exc, 501
        return json.dumps([u["username"] for u in found])

    @app.route("/where-safe")
    def where_safe():
        name = flask.request.args.get("name", "")
        try:
            found = list(users.find({"$where": "this.username == %s" % json.dumps(name)}, {"_id": 0}))
        except pymongo.errors.OperationFailure as exc:
            return "no javascript: %s" % exc, 501
        return json.dumps([u["username"] for u in found])

    @app.route("/ready")
    def ready():
        return "ok"

    return app


def _stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    url, db_name, port = argv[0], argv[1], int(argv[2])
    if "--agent" in argv:
        import sqreen

        sqreen.start()
    import pymongo

    from sqreen._demo_app import serve

    signal.signal(signal.SIGTERM, _stop)
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        serve(make_app(client, db_name), port)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()


if __name__ == "__main__":
    main()
