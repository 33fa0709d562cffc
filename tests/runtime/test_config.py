"""Configuration: precedence, typed parsing, sources, one-line errors."""
import os

import pytest

from sqreen import _config


def write(path, text):
    with open(str(path), "w") as f:
        f.write(text)
    return str(path)


def test_defaults_when_nothing_is_set(tmpdir):
    cfg = _config.load(environ={}, cwd=str(tmpdir))
    assert cfg.errors == []
    assert cfg.file is None
    assert set(cfg.sources.values()) == {"default"}
    assert set(cfg.values) >= {
        "disable", "mode", "events_file", "url", "token", "app_name", "performance_budget_ms", "ip_header",
        "trusted_proxies", "force_start", "log_level", "queue_size", "flush_timeout", "metrics_interval",
        "ip_blocklist", "ip_allowlist",
    }
    assert cfg.disable is False and cfg.mode == "monitor" and cfg.ip_blocklist == []


def test_env_beats_file_beats_default(tmpdir):
    ini = write(tmpdir.join("sqreen.ini"), "[sqreen]\nmode = block\nqueue_size = 50\napp_name = from-file\n")
    cfg = _config.load(environ={"SQREEN_QUEUE_SIZE": "70"}, cwd=str(tmpdir))
    assert cfg.errors == []
    assert cfg.file == ini
    assert (cfg.mode, cfg.sources["mode"]) == ("block", "file %s" % ini)
    assert (cfg.queue_size, cfg.sources["queue_size"]) == (70, "env SQREEN_QUEUE_SIZE")
    assert (cfg.app_name, cfg.sources["app_name"]) == ("from-file", "file %s" % ini)
    assert cfg.sources["flush_timeout"] == "default"


def test_sqreen_config_names_the_file_relative_to_cwd(tmpdir):
    write(tmpdir.join("sqreen.ini"), "[sqreen]\nmode = block\n")
    other = write(tmpdir.join("other.ini"), "[sqreen]\nmode = monitor\nforce_start = yes\n")
    cfg = _config.load(environ={"SQREEN_CONFIG": "other.ini"}, cwd=str(tmpdir))
    assert cfg.file == other
    assert cfg.mode == "monitor" and cfg.force_start is True


def test_file_without_sqreen_section_changes_nothing(tmpdir):
    write(tmpdir.join("sqreen.ini"), "[other]\nmode = block\n")
    cfg = _config.load(environ={}, cwd=str(tmpdir))
    assert cfg.errors == [] and cfg.mode == "monitor"


def test_missing_explicit_file_is_an_error(tmpdir):
    cfg = _config.load(environ={"SQREEN_CONFIG": "nope.ini"}, cwd=str(tmpdir))
    assert len(cfg.errors) == 1
    assert "nope.ini" in cfg.errors[0] and "cannot read" in cfg.errors[0]
    assert "\n" not in cfg.errors[0]


def test_unreadable_file_is_an_error(tmpdir):
    tmpdir.join("sqreen.ini").mkdir()  # a directory: even root cannot read it as a file
    cfg = _config.load(environ={"SQREEN_CONFIG": "sqreen.ini"}, cwd=str(tmpdir))
    assert len(cfg.errors) == 1 and "cannot read" in cfg.errors[0]


def test_malformed_file_is_one_line_error(tmpdir):
    write(tmpdir.join("sqreen.ini"), "mode = block\n[sqreen\n")
    cfg = _config.load(environ={}, cwd=str(tmpdir))
    assert len(cfg.errors) == 1 and "\n" not in cfg.errors[0]
    assert cfg.mode == "monitor"


def test_unknown_key_in_file_is_reported(tmpdir):
    write(tmpdir.join("sqreen.ini"), "[sqreen]\nmood = block\n")
    cfg = _config.load(environ={}, cwd=str(tmpdir))
    assert cfg.errors == ["file %s: unknown key 'mood'" % tmpdir.join("sqreen.ini")]


@pytest.mark.parametrize("key,text,expected", [
    ("disable", "1", True), ("disable", "TRUE", True), ("disable", " yes ", True), ("disable", "on", True),
    ("disable", "0", False), ("disable", "False", False), ("disable", "off", False), ("disable", "", False),
    ("mode", "BLOCK", "block"), ("mode", "monitor", "monitor"),
    ("queue_size", "12", 12), ("queue_size", " 1 ", 1),
    ("flush_timeout", "0.5", 0.5), ("flush_timeout", "3", 3.0), ("flush_timeout", "0", 0.0),
    ("metrics_interval", "10", 10.0),
    ("performance_budget_ms", "2.5", 2.5),
    ("log_level", "DEBUG", "debug"),
    ("ip_header", " X-Forwarded-For ", "X-Forwarded-For"),
    ("url", "https://collector.example/api", "https://collector.example/api"),
    ("ip_blocklist", "10.0.0.0/8, 192.168.1.7", [(4, 0x0A000000, 8), (4, 0xC0A80107, 32)]),
    ("ip_allowlist", "::1 fe80::/10", [(6, 1, 128), (6, 0xFE80 << 112, 10)]),
    ("trusted_proxies", "::ffff:10.0.0.1", [(6, 0xFFFF0A000001, 128)]),
    ("trusted_proxies", "2001:db8::/32", [(6, 0x20010DB8 << 96, 32)]),
    ("trusted_proxies", "1:2:3:4:5:6:7:8", [(6, 0x00010002000300040005000600070008, 128)]),
    ("trusted_proxies", "0.0.0.0/0", [(4, 0, 0)]),
    ("trusted_proxies", "", []),
])
def test_typed_parsing(key, text, expected):
    cfg = _config.load(environ={"SQREEN_" + key.upper(): text}, cwd=os.sep)
    assert cfg.errors == []
    assert cfg.values[key] == expected
    assert cfg.sources[key] == "env SQREEN_" + key.upper()


@pytest.mark.parametrize("key,text,words", [
    ("mode", "blok", "expected one of monitor, block"),
    ("disable", "maybe", "expected a boolean"),
    ("queue_size", "ten", "expected an integer"),
    ("queue_size", "0", ">= 1"),
    ("queue_size", "1.5", "expected an integer"),
    ("flush_timeout", "-1", ">= 0"),
    ("flush_timeout", "nan", "expected a number"),
    ("log_level", "loud", "expected one of"),
    ("ip_header", "X Forwarded", "header name"),
    ("ip_blocklist", "10.0.0.0/33", "bad prefix length"),
    ("ip_blocklist", "10.0.0.1/8", "host bits set"),
    ("ip_blocklist", "10.0.0.256", "bad IPv4 address"),
    ("ip_blocklist", "10.0.0", "bad IPv4 address"),
    ("ip_allowlist", "1::2::3", "bad IPv6 address"),
    ("ip_allowlist", "1:2:3:4:5:6:7:8:9", "bad IPv6 address"),
    ("ip_allowlist", "12345::", "bad IPv6 address"),
    ("trusted_proxies", "10.0.0.0/8, nonsense", "bad IPv4 address 'nonsense'"),
])
def test_bad_values_keep_the_default_with_a_one_line_error(key, text, words):
    name = "SQREEN_" + key.upper()
    cfg = _config.load(environ={name: text}, cwd=os.sep)
    assert len(cfg.errors) == 1, cfg.errors
    error = cfg.errors[0]
    assert error.startswith("env %s: %s=" % (name, key)) and words in error, error
    assert "\n" not in error
    assert cfg.values[key] == _config.SCHEMA[key][0]
    assert cfg.sources[key] == "default"


@pytest.mark.parametrize("text", [
    u"\u0661\u0662\u0667.0.0.1",  # Arabic-Indic digits: str.isdigit() says yes, an address they are not
    u"[::1]", u"fe80::1%eth0", u"1:2:3:4:5:6:7:8::",
])
def test_networks_take_ascii_text_forms_only(text):
    with pytest.raises(_config.ConfigError):
        _config.parse_network(text)


def test_bad_env_value_falls_back_to_the_file_value(tmpdir):
    write(tmpdir.join("sqreen.ini"), "[sqreen]\nqueue_size = 50\n")
    cfg = _config.load(environ={"SQREEN_QUEUE_SIZE": "lots"}, cwd=str(tmpdir))
    assert cfg.queue_size == 50 and cfg.sources["queue_size"].startswith("file ")
    assert len(cfg.errors) == 1


def test_secrets_are_masked_for_display():
    cfg = _config.load(environ={
        "SQREEN_TOKEN": "s3cr3t-t0ken-value", "SQREEN_URL": "https://user:pw@collector.example/x",
        "SQREEN_APP_NAME": "shop",
    }, cwd=os.sep)
    assert "t0ken" not in cfg.display("token") and cfg.display("token").endswith("***")
    assert cfg.display("url") == "https://***@collector.example/x"
    assert cfg.display("app_name") == "shop"
    assert _config.load(environ={"SQREEN_TOKEN": "short"}, cwd=os.sep).display("token") == "***"


def test_unknown_attribute_raises_attribute_error():
    cfg = _config.load(environ={}, cwd=os.sep)
    with pytest.raises(AttributeError):
        cfg.no_such_key


def test_os_environ_and_cwd_are_the_defaults(tmpdir, monkeypatch):
    write(tmpdir.join("sqreen.ini"), "[sqreen]\napp_name = here\n")
    monkeypatch.chdir(str(tmpdir))
    for name in list(os.environ):
        if name.startswith("SQREEN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SQREEN_MODE", "block")
    cfg = _config.load()
    assert cfg.app_name == "here" and cfg.mode == "block"
