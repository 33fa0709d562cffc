"""Account-takeover protection: failed logins counted per client IP and per identifier.

Each failed login adds one to two sliding-window counters: the client IP's
and the identifier's (the user tried). When the IP's count reaches
``ato_max_failures_per_ip`` within ``ato_window`` seconds (credential
stuffing: many accounts tried from one address), or the identifier's count
reaches ``ato_max_failures_per_user`` (brute force on one account) and the
failing IP adds to it, that IP is flagged for ``ato_block_seconds``. In
block mode a flagged IP's next login attempts are refused with a 403 at the
login call itself (``authenticate`` / ``auth_track``), not at request start:
the agent cannot tell a login route from another, and the IP keeps the rest
of the site. A threshold of 0 turns its counter off.

Only failures count, and only the IP is ever blocked, never the account: a
user who mistypes a few times is not locked out, and an attacker cannot
lock a victim out by failing on the victim's name from elsewhere.

The counters live behind a small store interface (:class:`MemoryStore`, in
this process); a store shared by all the workers of a server (Redis, ...)
can implement the same three methods. The clock is injectable for tests.
"""
import collections
import threading
import time

#: Keys of the store: the counters and flags of IPs, and the counters of identifiers.
IP_PREFIX = "ip:"
USER_PREFIX = "user:"

#: Event rules: why an IP was flagged, and why an attempt was refused.
RULE_IP = "ato-ip-failures"
RULE_USER = "ato-user-failures"
RULE_BLOCKED = "ato-blocked-ip"


class MemoryStore(object):
    """Failure timestamps and block deadlines in this process, bounded in memory.

    At most ``max_keys`` counters are kept (the least recently failed one
    is forgotten first), and each keeps no more timestamps than its
    threshold needs.
    """

    def __init__(self, max_keys=100000):
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._hits = collections.OrderedDict()  # key -> deque of failure times
        self._blocks = {}  # key -> until

    def add_failure(self, key, now, window, keep):
        """Record a failure of ``key`` at ``now``; return the failures within ``window`` seconds.

        Only the ``keep`` latest are remembered (enough to reach the threshold).
        """
        with self._lock:
            hits = self._hits.pop(key, None)
            if hits is None:
                hits = collections.deque(maxlen=keep)
            hits.append(now)
            while hits and hits[0] <= now - window:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return len(hits)

    def set_block(self, key, until, now):
        """Block ``key`` until ``until`` (expired blocks are forgotten when there are too many)."""
        with self._lock:
            self._blocks[key] = until
            if len(self._blocks) > self.max_keys:
                self._drop_expired(now)

    def blocked_until(self, key, now):
        """The deadline of ``key``'s block, or None when it is not (or no longer) blocked."""
        until = self._blocks.get(key)
        if until is None:
            return None
        if until <= now:
            with self._lock:
                if self._blocks.get(key) == until:
                    del self._blocks[key]
            return None
        return until

    def _drop_expired(self, now):
        for key in [k for k, until in self._blocks.items() if until <= now]:
            del self._blocks[key]
        while len(self._blocks) > self.max_keys:  # all live: forget the earliest to end
            del self._blocks[min(self._blocks, key=self._blocks.get)]


class Flag(object):
    """Why an IP was just flagged: the rule, the counted key, its failures and the limits."""

    __slots__ = ("rule", "key", "failures", "threshold", "window", "until")

    def __init__(self, rule, key, failures, threshold, window, until):
        self.rule, self.key, self.failures = rule, key, failures
        self.threshold, self.window, self.until = threshold, window, until

    def detail(self, now):
        return {"failures": self.failures, "threshold": self.threshold, "window_s": self.window,
                "block_s": round(self.until - now, 3), "counted": self.key.split(":", 1)[0]}


class Guard(object):
    """The counters and flags, with the configured thresholds; ``clock`` returns seconds."""

    def __init__(self, window=600.0, max_per_ip=50, max_per_user=20, block_seconds=900.0, store=None,
                 clock=time.time):
        self.window = float(window)
        self.max_per_ip = int(max_per_ip)
        self.max_per_user = int(max_per_user)
        self.block_seconds = float(block_seconds)
        self.store = store if store is not None else MemoryStore()
        self.clock = clock

    @classmethod
    def from_config(cls, cfg, store=None, clock=time.time):
        return cls(cfg.ato_window, cfg.ato_max_failures_per_ip, cfg.ato_max_failures_per_user,
                   cfg.ato_block_seconds, store, clock)

    def blocked_until(self, ip):
        """When the flag on ``ip`` ends (seconds, the guard's clock), or None when it is not flagged."""
        if not ip:
            return None
        return self.store.blocked_until(IP_PREFIX + ip, self.clock())

    def failure(self, ip, user_key=None):
        """Count a failed login of ``ip`` on ``user_key``; return a :class:`Flag` when it flags the IP.

        An IP already flagged is not flagged again (one event per flag). Without an IP nothing is
        counted: there would be nothing to block.
        """
        if not ip:
            return None
        now = self.clock()
        ip_key = IP_PREFIX + ip
        if self.store.blocked_until(ip_key, now) is not None:
            return None
        flag = None
        if self.max_per_user and user_key:
            key = USER_PREFIX + user_key
            count = self.store.add_failure(key, now, self.window, self.max_per_user)
            if count >= self.max_per_user:
                flag = Flag(RULE_USER, key, count, self.max_per_user, self.window, now + self.block_seconds)
        if self.max_per_ip:
            count = self.store.add_failure(ip_key, now, self.window, self.max_per_ip)
            if count >= self.max_per_ip and flag is None:
                flag = Flag(RULE_IP, ip_key, count, self.max_per_ip, self.window, now + self.block_seconds)
        if flag is not None:
            self.store.set_block(ip_key, flag.until, now)
        return flag
