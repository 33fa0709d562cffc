"""The account-takeover guard: sliding windows, thresholds, flags and the store, on an injected clock."""
from sqreen import _ato


class Clock(object):
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def make_guard(**kwargs):
    clock = Clock()
    settings = dict(window=60, max_per_ip=5, max_per_user=3, block_seconds=100, clock=clock)
    settings.update(kwargs)
    return _ato.Guard(**settings), clock


def test_the_ip_is_flagged_at_its_threshold_within_the_window():
    guard, clock = make_guard()
    flags = [guard.failure("198.51.100.1", "user=u%d" % i) for i in range(5)]
    assert flags[:4] == [None] * 4
    flag = flags[4]
    assert (flag.rule, flag.key, flag.failures, flag.threshold) == (_ato.RULE_IP, "ip:198.51.100.1", 5, 5)
    assert flag.until == clock.now + 100
    assert guard.blocked_until("198.51.100.1") == clock.now + 100
    assert guard.blocked_until("198.51.100.2") is None


def test_failures_older_than_the_window_no_longer_count():
    guard, clock = make_guard()
    for i in range(4):
        assert guard.failure("198.51.100.1", "user=u%d" % i) is None
        clock.now += 10
    clock.now += 30  # the first failure is now 70 s old, the second 60 s: both out of the window
    assert guard.failure("198.51.100.1", "user=x") is None
    assert guard.failure("198.51.100.1", "user=y") is None
    assert guard.failure("198.51.100.1", "user=z").failures == 5


def test_the_flag_ends_after_the_block_duration_and_counting_starts_afresh():
    guard, clock = make_guard(window=1000)
    for i in range(5):
        guard.failure("198.51.100.1", "user=u%d" % i)
    assert guard.failure("198.51.100.1", "user=more") is None  # flagged already: no second flag
    clock.now += 99.9
    assert guard.blocked_until("198.51.100.1") is not None
    clock.now += 0.1
    assert guard.blocked_until("198.51.100.1") is None
    # the window still holds the earlier failures: the next one flags again
    assert guard.failure("198.51.100.1", "user=again").rule == _ato.RULE_IP


def test_failures_on_one_identifier_flag_the_ip_that_adds_to_them():
    guard, clock = make_guard(max_per_ip=100)
    assert guard.failure("198.51.100.1", "email=bob@example.com") is None
    assert guard.failure("198.51.100.2", "email=bob@example.com") is None
    flag = guard.failure("198.51.100.3", "email=bob@example.com")
    assert (flag.rule, flag.key, flag.failures) == (_ato.RULE_USER, "user:email=bob@example.com", 3)
    assert guard.blocked_until("198.51.100.3") is not None
    assert guard.blocked_until("198.51.100.1") is None  # the others are not blocked: only the IP that failed


def test_a_user_who_mistypes_a_few_times_is_never_flagged_with_the_defaults():
    guard = _ato.Guard(clock=Clock())
    assert all(guard.failure("198.51.100.1", "username=alice") is None for _ in range(5))
    assert guard.blocked_until("198.51.100.1") is None


def test_a_zero_threshold_turns_its_counter_off():
    guard, _ = make_guard(max_per_ip=0, max_per_user=0)
    assert all(guard.failure("198.51.100.1", "user=x") is None for _ in range(50))
    guard, _ = make_guard(max_per_ip=0)
    assert [guard.failure("198.51.100.1", "user=u%d" % i) for i in range(20)] == [None] * 20


def test_nothing_is_counted_without_an_ip():
    guard, _ = make_guard()
    assert all(guard.failure(None, "user=x") is None for _ in range(10))
    assert guard.blocked_until(None) is None


def test_flag_detail():
    guard, clock = make_guard()
    for i in range(5):
        flag = guard.failure("198.51.100.1", "user=u%d" % i)
    assert flag.detail(clock.now) == {"failures": 5, "threshold": 5, "window_s": 60.0, "block_s": 100.0,
                                      "counted": "ip"}


def test_memory_store_is_bounded():
    store = _ato.MemoryStore(max_keys=3)
    for i in range(5):
        assert store.add_failure("k%d" % i, 10.0, 60, 50) == 1
    assert list(store._hits) == ["k2", "k3", "k4"]  # the least recently failed ones were forgotten
    assert store.add_failure("k2", 11.0, 60, 50) == 2
    assert list(store._hits) == ["k3", "k4", "k2"]
    # each counter keeps no more timestamps than its threshold needs
    for _ in range(10):
        count = store.add_failure("k9", 12.0, 60, 4)
    assert count == 4 and len(store._hits["k9"]) == 4


def test_memory_store_blocks_expire_and_are_bounded():
    store = _ato.MemoryStore(max_keys=2)
    store.set_block("a", 50.0, 0.0)
    assert store.blocked_until("a", 49.0) == 50.0
    assert store.blocked_until("a", 50.0) is None
    assert store.blocked_until("a", 0.0) is None  # forgotten once expired
    store.set_block("b", 20.0, 0.0)
    store.set_block("c", 30.0, 0.0)
    store.set_block("d", 40.0, 25.0)  # three blocks: the expired one ("b") goes
    assert sorted(store._blocks) == ["c", "d"]
    store.set_block("e", 60.0, 25.0)  # all live: the one ending first goes
    assert sorted(store._blocks) == ["d", "e"]


def test_guard_from_config():
    from sqreen import _config

    cfg = _config.load({"SQREEN_ATO_WINDOW": "30", "SQREEN_ATO_MAX_FAILURES_PER_IP": "7",
                        "SQREEN_ATO_MAX_FAILURES_PER_USER": "0", "SQREEN_ATO_BLOCK_SECONDS": "5"}, cwd="/")
    assert not cfg.errors
    guard = _ato.Guard.from_config(cfg)
    assert (guard.window, guard.max_per_ip, guard.max_per_user, guard.block_seconds) == (30.0, 7, 0, 5.0)


def test_config_errors_are_one_line_and_keep_the_default():
    from sqreen import _config

    cfg = _config.load({"SQREEN_ATO_MAX_FAILURES_PER_IP": "-1", "SQREEN_ATO_WINDOW": "soon",
                        "SQREEN_USER_BLOCKLIST": "mallory"}, cwd="/")
    assert cfg.ato_max_failures_per_ip == 50 and cfg.ato_window == 600.0 and cfg.user_blocklist == []
    assert len(cfg.errors) == 3
    assert any("ato_max_failures_per_ip" in e and "expected an integer (0 turns the counter off) >= 0" in e
               for e in cfg.errors)
    assert any("user_blocklist" in e and "identifier=value" in e for e in cfg.errors)
    cfg = _config.load({"SQREEN_USER_BLOCKLIST": "username=mallory, email=eve@example.com"}, cwd="/")
    assert cfg.user_blocklist == [("username", "mallory"), ("email", "eve@example.com")]
