"""Rate limits on guessing, per client address: failed panel sign-ins and
unknown API tokens (docs/security.md).  A token bucket per client: `burst`
failures at once, then `per_minute`; while the bucket is empty the client
gets 429 with Retry-After, before any password or token is checked.

Only failures spend: people signing in at the start of a shift, or machines
with good tokens, are never slowed.  The per-account lock-out
(gateway.panel.users) still stops slow guessing at one account from many
addresses; this stops one address trying many accounts or tokens.

The client address is what the server saw, or — behind a reverse proxy
listed in api.forwarded_allow_ips — the proxy's X-Forwarded-For (uvicorn
rewrites it); IPv6 clients count per /64, the block one host usually has."""

import ipaddress
import math
import threading
import time

SIGNIN_PER_MINUTE = 10  # failed sign-ins per client address
TOKEN_PER_MINUTE = 10  # different unknown / revoked API tokens per client address


class RateLimit:
    def __init__(self, per_minute, burst=None, clock=time.monotonic, max_clients=10000):
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = burst or per_minute
        self.clock = clock
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._buckets = {}  # client -> [tokens, at, last attempt]

    def retry_after(self, client):
        """0 when `client` may try now, else the whole seconds until it may."""
        with self._lock:
            b = self._buckets.get(client_key(client))
            if b is None:
                return 0
            tokens = self._refill(b)
            return 0 if tokens >= 1 else max(1, math.ceil((1 - tokens) / self.rate))

    def failed(self, client, attempt=None):
        """Spend one try.  `attempt` (e.g. a token's hash): the same failing
        attempt sent again — a machine retrying with a stale token — spends once."""
        key = client_key(client)
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self.max_clients:
                    self._prune()
                b = self._buckets[key] = [float(self.burst), self.clock(), None]
            self._refill(b)
            if attempt is not None and attempt == b[2]:
                return
            b[0] -= 1
            b[2] = attempt

    def _refill(self, b):
        now = self.clock()
        b[0] = min(float(self.burst), b[0] + (now - b[1]) * self.rate)
        b[1] = now
        return b[0]

    def _prune(self):
        # Full buckets are the same as none; if that frees too little, the
        # clients quiet the longest go (bounded memory under many addresses).
        for key in [k for k, b in self._buckets.items() if self._refill(b) >= self.burst]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:
            for key, _ in sorted(self._buckets.items(), key=lambda kv: kv[1][1])[: len(self._buckets) // 2]:
                del self._buckets[key]


def client_key(host):
    try:
        ip = ipaddress.ip_address(host)
    except (TypeError, ValueError):
        return str(host)
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network("%s/64" % ip, strict=False))
    return str(ip)


def client_of(request):
    return request.client.host if request.client else None


_made = threading.Lock()


def for_app(app, name, per_minute):
    """The app's limiter `name` (one per app: tests and gateways keep their own)."""
    limiter = getattr(app.state, name, None)
    if limiter is None:
        with _made:
            limiter = getattr(app.state, name, None)
            if limiter is None:
                limiter = RateLimit(per_minute)
                setattr(app.state, name, limiter)
    return limiter
