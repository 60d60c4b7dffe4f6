"""Find Zebra printers on the network: the hosts an admin names (a subnet,
a range or single addresses, 256 at most), each tried on the raw print port
(9100) with a short connect timeout; a host that accepts is asked ~HI, and
what answers in ~HI's layout is a Zebra printer (transports.probe_tcp).

Nothing is scanned that was not asked for: no broadcast, no other ports."""

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor

from gateway.printing.transports import probe_tcp

MAX_HOSTS = 256  # a /24 at a time: a scan stays short and polite
CONNECT_TIMEOUT_S = 0.3  # a printer on the LAN answers a connect in milliseconds
QUERY_TIMEOUT_S = 1.0
WORKERS = 64
IPV4_RANGE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}-\d{1,3}((\.\d{1,3}){3})?$")  # a.b.c.d-e or a.b.c.d-a.b.c.e
HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")


class RangeError(ValueError):
    """A host list that cannot be scanned: `code` says why ("empty", "bad", "too_many"), `value` what."""

    def __init__(self, code, value=""):
        super().__init__("%s: %s" % (code, value))
        self.code, self.value = code, value


def _one(item):
    # One item of the list -> its addresses (IPv4/IPv6 text) or host name.
    if "/" in item:
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise RangeError("bad", item) from None
        if net.num_addresses > MAX_HOSTS + 2:
            raise RangeError("too_many", item)
        hosts = list(net.hosts()) or [net.network_address]
        return [str(h) for h in hosts]
    if IPV4_RANGE.match(item):
        first, _, last = item.partition("-")
        try:
            a = ipaddress.IPv4Address(first)
            b = ipaddress.IPv4Address(last) if "." in last else ipaddress.IPv4Address(first.rsplit(".", 1)[0] + "." + last)
        except ValueError:
            raise RangeError("bad", item) from None
        if int(b) < int(a):
            raise RangeError("bad", item)
        if int(b) - int(a) + 1 > MAX_HOSTS:
            raise RangeError("too_many", item)
        return [str(ipaddress.IPv4Address(n)) for n in range(int(a), int(b) + 1)]
    try:
        return [str(ipaddress.ip_address(item))]
    except ValueError:
        pass
    if HOSTNAME.match(item):
        return [item]
    raise RangeError("bad", item)


def expand(text):
    """"192.168.1.0/24", "192.168.1.10-40", "10.0.0.5-10.0.0.9", "zt410.local"
    (several, separated by commas or spaces) -> the hosts, in order, once each."""
    items = [i for i in re.split(r"[\s,;]+", text or "") if i]
    if not items:
        raise RangeError("empty")
    out, seen = [], set()
    for item in items:
        for host in _one(item):
            if host not in seen:
                seen.add(host)
                out.append(host)
        if len(out) > MAX_HOSTS:
            raise RangeError("too_many", text.strip()[:80])
    return out


def _port_open(host, port, timeout):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _probe(host, port, connect_timeout, query_timeout):
    if not _port_open(host, port, connect_timeout):
        return None
    info = probe_tcp(host, port, query_timeout)
    return {"host": host, "port": port, "uri": info["uri"] if info else "tcp://%s:%d" % (
        host if ":" not in host else "[%s]" % host, port), "zebra": info}


def scan(hosts, port=9100, connect_timeout=CONNECT_TIMEOUT_S, query_timeout=QUERY_TIMEOUT_S, workers=WORKERS):
    """Every host of `hosts` that accepts a connection on `port` ->
    [{"host", "port", "uri", "zebra": ~HI (status.parse_hi) or None}], in the order given."""
    if not 0 < port < 65536:
        raise RangeError("bad", str(port))
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(hosts))) as pool:
        found = pool.map(lambda h: _probe(h, port, connect_timeout, query_timeout), hosts)
        return [f for f in found if f is not None]
