"""Gateway configuration: embedded defaults (a fresh machine needs nothing),
an optional TOML file, and UDI_EDGE_* environment variables on top.
`udi-edge config check` explains every problem."""

import os
import re
import socket
import tomllib

DEFAULTS = {
    "data_dir": "data",
    # This gateway's name in a site of several (one per line) sharing one
    # database and one broker: its MQTT client id, the owner of its printers.
    # None: derived from the host name (gateway_id()).
    "gateway_id": None,
    "database_url": None,  # None: SQLite (WAL) in data_dir
    "mqtt": {
        "url": None,  # None: start the embedded broker (mosquitto) on 127.0.0.1
        "host": "127.0.0.1",
        "port": 1883,
        "user": None,
        "password": None,
        "topic_prefix": "udi/v1",
        "max_payload": 16384,
        "password_file": None,  # the password read from this file (a secret file), not written in the config
        # mqtts:// (docs/protocol.md, TLS): the broker's certificate is always
        # verified, against ca_file (the site CA) or else the system's CAs.
        "ca_file": None,
        "cert_file": None,  # a client certificate for the gateway, when the broker asks for one
        "key_file": None,
        # The embedded broker's TLS listener for handhelds on the network (its
        # plain listener stays on 127.0.0.1); certificates from `udi-edge certs init`.
        "tls_port": None,  # e.g. 8883; None: no TLS listener
        "tls_host": "0.0.0.0",
        "require_certificate": False,  # handhelds also show a client certificate of the site CA
    },
    # The HTTP API and panel.  forwarded_allow_ips: proxies whose X-Forwarded-For /
    # -Proto are believed (client address for rate limits, https for Secure cookies);
    # tls_cert / tls_key: serve https directly.
    "api": {"host": "127.0.0.1", "port": 8080, "forwarded_allow_ips": "127.0.0.1", "tls_cert": None, "tls_key": None},  # port 0: any free port
    "trace": {"expiry_warn_days": 30},
    # The demo's virtual ZPL printer (TCP 9100 protocol on a free port), registered as printer "virtual".
    "printing": {"virtual_printer": False, "virtual_name": "virtual", "virtual_dpi": 300, "virtual_ips": 6.0},  # expires_soon alerts this many days ahead
    "demo": {"handhelds": 0, "scans": 20, "rate": 2.0, "print_job": False},
}

ENV = {
    "UDI_EDGE_DATA_DIR": ("data_dir",),
    "UDI_EDGE_GATEWAY_ID": ("gateway_id",),
    "UDI_EDGE_DATABASE_URL": ("database_url",),
    "UDI_EDGE_MQTT_URL": ("mqtt", "url"),
    "UDI_EDGE_MQTT_PORT": ("mqtt", "port"),
    "UDI_EDGE_MQTT_USER": ("mqtt", "user"),
    "UDI_EDGE_MQTT_PASSWORD": ("mqtt", "password"),
    "UDI_EDGE_MQTT_PASSWORD_FILE": ("mqtt", "password_file"),
    "UDI_EDGE_MQTT_CA_FILE": ("mqtt", "ca_file"),
    "UDI_EDGE_MQTT_TLS_PORT": ("mqtt", "tls_port"),
    "UDI_EDGE_API_HOST": ("api", "host"),
    "UDI_EDGE_API_PORT": ("api", "port"),
}


def _merge(base, over, path, problems):
    for key, value in over.items():
        if key not in base:
            problems.append("%s: unknown setting" % ".".join(path + [key]))
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                problems.append("%s: must be a table" % ".".join(path + [key]))
            else:
                _merge(base[key], value, path + [key], problems)
        else:
            base[key] = value


def load(path=None, environ=None):
    """-> (config dict, list of problems in words)."""
    import copy

    cfg = copy.deepcopy(DEFAULTS)
    problems = []
    if path:
        try:
            with open(path, "rb") as f:
                _merge(cfg, tomllib.load(f), [], problems)
        except OSError as e:
            problems.append("%s: cannot be read (%s)" % (path, e.strerror))
        except tomllib.TOMLDecodeError as e:
            problems.append("%s: not valid TOML (%s)" % (path, e))
    env = os.environ if environ is None else environ
    for name, keys in ENV.items():
        if name in env:
            target = cfg
            for k in keys[:-1]:
                target = target[k]
            target[keys[-1]] = env[name]
    problems.extend(check(cfg))
    return cfg, problems


GATEWAY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # goes into an MQTT client id and the database


def check(cfg):
    problems = []
    gid = cfg.get("gateway_id")
    if gid is not None and not (isinstance(gid, str) and GATEWAY_ID.match(gid)):
        problems.append("gateway_id: must be 1-32 of A-Z a-z 0-9 _ - (one name per gateway of the site), got %r" % (gid,))
    m = cfg["mqtt"]
    try:
        m["port"] = int(m["port"])
        if not 0 < m["port"] < 65536:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("mqtt.port: must be a TCP port number (1-65535), got %r" % (m["port"],))
    url = m.get("url")
    if url and not (url.startswith("mqtt://") or url.startswith("mqtts://")):
        problems.append("mqtt.url: must start with mqtt:// or mqtts://, got %r" % url)
    db = cfg.get("database_url")
    if db and not (db.startswith("sqlite") or db.startswith("postgresql")):
        problems.append("database_url: only sqlite:/// and postgresql:// URLs are supported, got %r" % db)
    try:
        cfg["api"]["port"] = int(cfg["api"]["port"])
        if not 0 <= cfg["api"]["port"] < 65536:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("api.port: must be a TCP port number (0-65535; 0 = any free port), got %r" % (cfg["api"]["port"],))
    if not isinstance(cfg["api"]["host"], str) or not cfg["api"]["host"]:
        problems.append("api.host: must be an address to listen on, e.g. 127.0.0.1, got %r" % (cfg["api"]["host"],))
    pr = cfg["printing"]
    if not isinstance(pr["virtual_printer"], bool):
        problems.append("printing.virtual_printer: must be true or false, got %r" % (pr["virtual_printer"],))
    if not (isinstance(pr["virtual_name"], str) and GATEWAY_ID.match(pr["virtual_name"])):
        problems.append("printing.virtual_name: must be 1-32 of A-Z a-z 0-9 _ -, got %r" % (pr["virtual_name"],))
    if pr["virtual_dpi"] not in (203, 300, 600):
        problems.append("printing.virtual_dpi: must be 203, 300 or 600, got %r" % (pr["virtual_dpi"],))
    if not isinstance(pr["virtual_ips"], (int, float)) or isinstance(pr["virtual_ips"], bool) or not 1 <= pr["virtual_ips"] <= 14:
        problems.append("printing.virtual_ips: must be 1-14 inches per second, got %r" % (pr["virtual_ips"],))
    days = cfg["trace"].get("expiry_warn_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        problems.append("trace.expiry_warn_days: must be a whole number of days (0-3650), got %r" % (days,))
    if m.get("password") and not m.get("user"):
        problems.append("mqtt.password: given without mqtt.user")
    problems.extend(_check_tls(cfg))
    return problems


def _check_tls(cfg):
    problems = []
    m, api = cfg["mqtt"], cfg["api"]
    if m["tls_port"] is not None:
        try:
            m["tls_port"] = int(m["tls_port"])
            if not 0 <= m["tls_port"] < 65536 or m["tls_port"] == m["port"]:
                raise ValueError
        except (TypeError, ValueError):
            problems.append("mqtt.tls_port: must be a TCP port number other than mqtt.port (8883 is usual), got %r" % (m["tls_port"],))
        if m.get("url"):
            problems.append("mqtt.tls_port: is for the embedded broker; with mqtt.url set TLS is your broker's (mqtts://)")
    if not isinstance(m["tls_host"], str) or not m["tls_host"]:
        problems.append("mqtt.tls_host: must be an address to listen on, e.g. 0.0.0.0, got %r" % (m["tls_host"],))
    if not isinstance(m["require_certificate"], bool):
        problems.append("mqtt.require_certificate: must be true or false, got %r" % (m["require_certificate"],))
    for key, section in (("password_file", m), ("ca_file", m), ("cert_file", m), ("key_file", m),
                         ("tls_cert", api), ("tls_key", api)):
        path = section.get(key)
        if path is not None and not (isinstance(path, str) and os.path.isfile(path)):
            problems.append("%s.%s: no such file: %r" % ("mqtt" if section is m else "api", key, path))
    if bool(m["cert_file"]) != bool(m["key_file"]):
        problems.append("mqtt.cert_file and mqtt.key_file: give both or neither")
    if bool(api["tls_cert"]) != bool(api["tls_key"]):
        problems.append("api.tls_cert and api.tls_key: give both or neither")
    if (m["ca_file"] or m["cert_file"]) and not (m.get("url") or "").startswith("mqtts://"):
        problems.append("mqtt.ca_file / cert_file: only used with an mqtts:// broker URL, got mqtt.url %r" % (m.get("url"),))
    if m["password_file"] and not problems:
        try:
            with open(m["password_file"]) as f:
                m["password"] = f.read().strip()  # the config names the file, never holds the secret
        except OSError as e:
            problems.append("mqtt.password_file: cannot be read (%s)" % e.strerror)
        if not m.get("user"):
            problems.append("mqtt.password_file: given without mqtt.user")
    return problems


def gateway_id(cfg):
    # The configured name, else the host name made fit (a site sets it explicitly).
    if cfg.get("gateway_id"):
        return cfg["gateway_id"]
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname().split(".")[0]).strip("-")[:32]
    return name or "gateway"


def database_url(cfg):
    if cfg.get("database_url"):
        return cfg["database_url"]
    return "sqlite:///" + os.path.join(os.path.abspath(cfg["data_dir"]), "udi-edge.sqlite")


def broker_address(cfg):
    # (host, port, tls) of the broker to use; (None, port, False) = embedded.
    url = cfg["mqtt"].get("url")
    if not url:
        return None, cfg["mqtt"]["port"], False
    tls = url.startswith("mqtts://")
    rest = url.split("://", 1)[1].rstrip("/")
    host, _, port = rest.rpartition(":")
    if not host:
        host, port = rest, ("8883" if tls else "1883")
    return host, int(port), tls
