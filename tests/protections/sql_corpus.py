# -*- coding: utf-8 -*-
"""Attack and benign inputs, and how a vulnerable / a careful app builds them into queries."""
from __future__ import unicode_literals

DIALECT_NAMES = ["sqlite", "postgresql", "mysql"]

# Inputs as the app sees them after URL / form / JSON decoding, concatenated into a quoted string.
STRING_ATTACKS = [
    "' OR '1'='1", "' OR 1=1 --", "' or 'a'='a", "admin'--", "' oR 'x' LiKe 'x", "x' OR 1=1 -- ",
    "' UNION SELECT username, password FROM users --", "' UnIoN sElEcT null, version() -- ",
    "'; DROP TABLE users; --", "x'; UPDATE users SET role='admin' WHERE '1'='1",
    "' AND 1=0 UNION ALL SELECT 1,2 -- ", "' AND (SELECT COUNT(*) FROM users) > 0 AND 'a'='a",
    "' AND substr(password,1,1)='a", "' AND 1=1 AND ''='", "'/**/OR/**/'1'='1", "'\tOR\t'1'='1",
    "'\nOR\n1=1\n--", "' OR ''='", "')) OR (('1'='1", "' OR EXISTS(SELECT 1 FROM users) OR '",
    "x' AND 1=(SELECT 1) AND 'y'='y", "' || (SELECT password FROM users LIMIT 1) || '",
    "ab' OR 'ab", "' GROUP BY name HAVING 1=1 --", "'; SELECT pg_sleep(5) --",
]
# Inputs concatenated where the app expects a number.
NUMBER_ATTACKS = [
    "1 OR 1=1", "1 or 1=1", "1 OR 2>1", "-1 UNION SELECT password FROM users", "1; DROP TABLE users",
    "1 AND 1=0", "1 AND (SELECT 1)=1", "1)) OR ((1=1", "0 OR id > 0", "1 --", "1/**/OR/**/1=1",
    "1\tOR\t1", "(SELECT MAX(id) FROM users)", "1 AND substr(name,1,1)='a'", "1 ORDER BY 5",
]
# Inputs concatenated where the app expects a column name (ORDER BY).
NAME_ATTACKS = ["name; DELETE FROM users", "(CASE WHEN 1=1 THEN name ELSE id END)", "name, (SELECT 1)"]

EXTRA_ATTACKS = {
    "sqlite": [("string", "' AND randomblob(1000000000) AND '"), ("string", "' OR sqlite_version() > '"),
               ("number", "1 AND 1=(SELECT CASE WHEN 1 THEN 1 ELSE 0 END)")],
    "postgresql": [("string", "' OR 1=1; SELECT pg_sleep(10); --"),
                   ("string", "' || (SELECT current_user) || '"),
                   ("number", "1 AND 1=(SELECT 1 FROM pg_sleep(5))"), ("string", "' OR E'a'=E'a"),
                   ("number", "1::int OR 1=1"), ("string", "x' /* c */ OR '1'='1")],
    "mysql": [("string", "' OR SLEEP(5) #"), ("string", "' OR BENCHMARK(1000000,MD5(1)) -- "),
              ("string", "x' OR 1=1 #"), ("string", "' /*!50000UNION*/ SELECT 1 -- "),
              ("number", "1 || 1"), ("number", "1 OR name=0x61646d696e"), ("number", "1 /*! OR 1=1 */"),
              ("string", "' OR 1 #"), ("string", "x' OR \"a\"=\"a")],
}

SECOND_ORDER_ATTACKS = ["o' OR '1'='1", "bob'; DROP TABLE posts; --"]

BENIGN_STRINGS = [
    "O'Brien", "D'Angelo", "l'été", "it's", "rock 'n' roll", "''", "'quoted'", "Robert'); DROP TABLE x;--",
    "SELECT * FROM users", "please UNION SELECT my order", "1 OR 1=1 is a tautology", "a -- b", "/* hi */",
    "50% off", "C:\\path\\to", "back\\slash", "ends with backslash\\", "tab\there", "line\nbreak",
    "日本語のテキスト", "Ωmega", "emoji 🎉 party", "naïve café", "\"double\" quotes", "`ticks`", "$$dollar$$",
    "#hashtag", "semi;colon", "x" * 10000, "word " * 2000, "alice@example.com", "https://x.test/?a=1&b=2",
    "{\"json\": [1, 2]}", "<script>alert(1)</script>", "SLEEP(5)", "or", "and 1=1", "%s %(name)s ?",
    "E'x'", "[brackets]", "a'b'c'd", "'; --",
]
BENIGN_NUMBERS = ["42", "-7", "3.14", "1e10", "0", "007", "123456789012345678901234567890", "-0.5"]
BENIGN_NAMES = ["name", "created_at", "users.name", "DESC", "ASC", "id", "über", "t1"]


def escape(value, name):
    """How a careful app escapes a value into a single-quoted literal for the dialect."""
    if name == "mysql":
        return value.replace("\\", "\\\\").replace("'", "\\'")
    return value.replace("'", "''")


def string_query(value):
    return "SELECT * FROM users WHERE name = '%s' AND active = 1" % value


def number_query(value):
    return "SELECT * FROM users WHERE id = %s LIMIT 10" % value


def name_query(value):
    return "SELECT id, name FROM users ORDER BY %s" % value


BUILD = {"string": string_query, "number": number_query, "name": name_query}


def attacks(name):
    """``(context, input)`` pairs: each attack once in its context."""
    found = [("string", a) for a in STRING_ATTACKS] + [("number", a) for a in NUMBER_ATTACKS]
    found += [("name", a) for a in NAME_ATTACKS] + EXTRA_ATTACKS[name]
    return found


def benign(name):
    """``(query, input)`` pairs: as a careful app builds them (escaped, bound, or plain data)."""
    found = [(string_query(escape(v, name)), v) for v in BENIGN_STRINGS]
    found += [(number_query(v), v) for v in BENIGN_NUMBERS]
    found += [(name_query(v), v) for v in BENIGN_NAMES]
    placeholder = {"sqlite": "?", "postgresql": "%s", "mysql": "%s"}[name]
    found += [("SELECT * FROM users WHERE name = %s" % placeholder, a) for a in STRING_ATTACKS[:10]]
    found += [("SELECT * FROM users WHERE id = %s OR name = %s" % (placeholder, placeholder), v)
              for v in NUMBER_ATTACKS[:5]]
    return found
