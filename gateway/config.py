"""Gateway configuration: embedded defaults (a fresh machine needs nothing),
an optional TOML file, and UDI_EDGE_* environment variables on top.
`udi-edge config check` explains every problem."""

import os
import tomllib

DEFAULTS = {
    "data_dir": "data",
    "database_url": None,  # None: SQLite (WAL) in data_dir
    "mqtt": {
        "url": None,  # None: start the embedded broker (mosquitto) on 127.0.0.1
        "host": "127.0.0.1",
        "port": 1883,
        "user": None,
        "password": None,
        "topic_prefix": "udi/v1",
        "max_payload": 16384,
    },
    "api": {"host": "127.0.0.1", "port": 8080},  # the HTTP API (and, later, the panel); port 0: any free port
    "trace": {"expiry_warn_days": 30},
    # The demo's virtual ZPL printer (TCP 9100 protocol on a free port), registered as printer "virtual".
    "printing": {"virtual_printer": False, "virtual_dpi": 300, "virtual_ips": 6.0},  # expires_soon alerts this many days ahead
    "demo": {"handhelds": 0, "scans": 20, "rate": 2.0, "print_job": False},
}

ENV = {
    "UDI_EDGE_DATA_DIR": ("data_dir",),
    "UDI_EDGE_DATABASE_URL": ("database_url",),
    "UDI_EDGE_MQTT_URL": ("mqtt", "url"),
    "UDI_EDGE_MQTT_PORT": ("mqtt", "port"),
    "UDI_EDGE_MQTT_USER": ("mqtt", "user"),
    "UDI_EDGE_MQTT_PASSWORD": ("mqtt", "password"),
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


def check(cfg):
    problems = []
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
    if pr["virtual_dpi"] not in (203, 300, 600):
        problems.append("printing.virtual_dpi: must be 203, 300 or 600, got %r" % (pr["virtual_dpi"],))
    if not isinstance(pr["virtual_ips"], (int, float)) or isinstance(pr["virtual_ips"], bool) or not 1 <= pr["virtual_ips"] <= 14:
        problems.append("printing.virtual_ips: must be 1-14 inches per second, got %r" % (pr["virtual_ips"],))
    days = cfg["trace"].get("expiry_warn_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
        problems.append("trace.expiry_warn_days: must be a whole number of days (0-3650), got %r" % (days,))
    if m.get("password") and not m.get("user"):
        problems.append("mqtt.password: given without mqtt.user")
    return problems


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
