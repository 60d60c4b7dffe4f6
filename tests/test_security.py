"""Security of the panel and the API: every route but a few open ones needs
a session or a token; API token scopes are enforced on every guarded route
(enumerated from the app, so a new route without a guard fails here); rate
limits on sign-in and token guessing per client address; Secure cookies over
https, also behind a reverse proxy; no secret in the repository, none in the
gateway's logs."""

import json
import os
import re
import secrets
import signal
import subprocess
import sys

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway import ratelimit
from gateway.api import auth
from gateway.api.app import create_app
from gateway.broker import free_port
from gateway.panel import i18n, mount_panel, users
from gateway.service import ApiServer
from gateway.store import Store
from gateway.tls import Certs
from test_panel import PW, csrf_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Open without a session or token, on purpose: the health check, the API's
# own documentation, the sign-in form, the language switch and static files.
OPEN = {("GET", "/api/health"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"), ("GET", "/"), ("GET", "/favicon.ico"), ("GET", "/panel/login"), ("POST", "/panel/login"),
        ("GET", "/panel/lang/{lang}")}


@pytest.fixture
def store(tmp_path):
    return Store("sqlite:///" + str(tmp_path / "sec.sqlite"))


@pytest.fixture
def app(store):
    a = create_app(store)
    mount_panel(a)
    users.create_user(store.engine, "ada", PW, "admin")
    return a


def routes(app):
    """(method, path, route) of every route of the app, included routers too."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers: app.routes has them all
        contexts = [(r, r.path) for r in app.routes]
    else:
        contexts = [(c.original_route, c.path) for c in iter_route_contexts(app.routes)]
    for route, path in contexts:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, path, route


def concrete(path):
    return re.sub(r"\{[^}]+\}", "1", path)


def sign_in(client, name="ada", password=PW):
    form = client.get("/panel/login")
    return client.post("/panel/login", data={"name": name, "password": password, "csrf": csrf_of(form.text)},
                       follow_redirects=False)


# --- auth on every route ----------------------------------------------------------------------


def test_every_route_but_the_open_ones_needs_a_session_or_a_token(app):
    client = TestClient(app, raise_server_exceptions=False)
    seen = set()
    for method, path, route in routes(app):
        if path.startswith("/static"):
            continue
        seen.add((method, path))
        if (method, path) in OPEN:
            continue
        r = client.request(method, concrete(path), json={}, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
        elif method == "GET" and not path.startswith(("/panel/api/", "/panel/events")):
            assert r.status_code == 303 and r.headers["location"].startswith("/panel/login"), (method, path, r.status_code)
        else:
            assert r.status_code in (401, 403), (method, path, r.status_code)
    assert len(seen) > 40 and OPEN <= seen  # the enumeration found the app's routes
    assert client.get("/api/health").status_code == 200


def test_every_guarded_api_route_needs_its_scope(store):
    app = create_app(store)
    client = TestClient(app, raise_server_exceptions=False)
    checked = 0
    for method, path, route in routes(app):
        if not path.startswith("/api/") or (method, path) in OPEN:
            continue
        need = auth.route_scopes(route)
        assert need, "%s %s has no role/scope guard (gateway.api.auth Reader/Operator/Admin)" % (method, path)
        area = auth.area_of(route)
        assert area in auth.AREAS, "%s %s: tag %r has no area in auth.AREA_OF_TAG" % (method, path, route.tags)
        top = max(need, key=lambda s: auth.LEVELS.index(s.split(":")[1]))
        # Every scope of every other area, and the lower levels of this one: still refused.
        below = [s for s in auth.SCOPES if not s.startswith(area + ":") or auth.LEVELS.index(s.split(":")[1])
                 < auth.LEVELS.index(top.split(":")[1])]
        without = auth.create_token(store.engine, "without-%d" % checked, scopes=below)
        r = client.request(method, concrete(path), json={}, headers={"Authorization": "Bearer " + without})
        assert r.status_code == 403 and top in r.json()["detail"], (method, path, r.status_code, r.text)
        # Exactly its scope: past the guard (what the route answers then depends on the data).
        only = auth.create_token(store.engine, "only-%d" % checked, scopes=[top])
        r = client.request(method, concrete(path), json={}, headers={"Authorization": "Bearer " + only})
        assert r.status_code not in (401, 403), (method, path, top, r.status_code, r.text)
        checked += 1
    assert checked > 30


def test_scopes_of_some_routes_as_documented(store):
    app = create_app(store)
    expect = {("GET", "/api/scans"): {"scans:read"}, ("POST", "/api/print-jobs"): {"print:read", "print:write"},
              ("PUT", "/api/devices/{dev}/config"): {"devices:read", "devices:admin"},
              ("POST", "/api/blocks"): {"blocks:read", "blocks:write"}, ("GET", "/api/tokens"): {"tokens:admin"},
              ("GET", "/api/mappings"): {"master:read"}, ("POST", "/api/aggregations"): {"trace:read", "trace:write"}}
    found = {(m, p): auth.route_scopes(r) for m, p, r in routes(app) if (m, p) in expect}
    assert found == expect


def test_role_tokens_are_sets_of_scopes(store):
    client = TestClient(create_app(store), raise_server_exceptions=False)
    reader = auth.create_token(store.engine, "r", "reader")
    erp = auth.create_token(store.engine, "erp", scopes=["scans:read", "master:read", "scans:read"])
    h = {"Authorization": "Bearer " + erp}
    assert client.get("/api/scans", headers=h).status_code == 200
    assert client.get("/api/products", headers=h).status_code == 200
    r = client.get("/api/devices", headers=h)
    assert r.status_code == 403 and r.json()["detail"] == "this needs the scope devices:read; token 'erp' has master:read, scans:read"
    r = client.post("/api/blocks", json={"di": "06901234567892", "reason": "x"}, headers={"Authorization": "Bearer " + reader})
    assert r.status_code == 403 and "needs the operator role (or admin) (scope blocks:write)" in r.json()["detail"]
    listed = {t["name"]: t for t in auth.list_tokens(store.engine)}
    assert listed["erp"]["role"] == "scoped" and listed["erp"]["scopes"] == ["scans:read", "master:read"]
    assert listed["r"]["scopes"] == [s for s in auth.SCOPES if s.endswith(":read")]
    for bad in (dict(role="reader", scopes=["scans:read"]), dict(), dict(scopes=[]), dict(scopes=["scan:read"])):
        with pytest.raises(ValueError):
            auth.create_token(store.engine, "bad", **bad)


def test_tokens_api_with_scopes_and_no_more_than_the_giver_has(store):
    client = TestClient(create_app(store), raise_server_exceptions=False)
    admin = {"Authorization": "Bearer " + auth.create_token(store.engine, "root", "admin")}
    r = client.post("/api/tokens", json={"name": "erp", "scopes": ["scans:read"]}, headers=admin)
    assert r.status_code == 201 and r.json()["role"] == "scoped" and r.json()["scopes"] == ["scans:read"]
    assert client.get("/api/scans", headers={"Authorization": "Bearer " + r.json()["token"]}).status_code == 200
    for body in ({"name": "x", "role": "reader", "scopes": ["scans:read"]}, {"name": "x"},
                 {"name": "x", "scopes": ["scans:everything"]}, {"name": "x", "scopes": []}):
        assert client.post("/api/tokens", json=body, headers=admin).status_code == 422, body
    # tokens:admin alone may make tokens, but none with more than it has
    minter = {"Authorization": "Bearer " + auth.create_token(store.engine, "minter", scopes=["tokens:admin", "scans:read"])}
    r = client.post("/api/tokens", json={"name": "big", "role": "admin"}, headers=minter)
    assert r.status_code == 403 and "cannot give scopes it does not have" in r.json()["detail"]
    assert client.post("/api/tokens", json={"name": "small", "scopes": ["scans:read"]}, headers=minter).status_code == 201
    assert [t["scopes"] for t in client.get("/api/tokens", headers=admin).json() if t["name"] == "small"] == [["scans:read"]]


# --- rate limits ----------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_sign_in_failures_are_limited_per_client_address(app):
    clock = Clock()
    app.state.signin_failures = ratelimit.RateLimit(ratelimit.SIGNIN_PER_MINUTE, clock=clock)
    client = TestClient(app, client=("192.0.2.7", 50000))
    # many accounts from one address (each below its own lock-out)
    for i in range(ratelimit.SIGNIN_PER_MINUTE):
        assert sign_in(client, "user%d" % i, "wrong password").status_code == 401
    r = sign_in(client)  # the right password too: no password is checked while limited
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 6
    assert "此地址登录失败次数过多" in r.text and "6 秒" in r.text and "panel_session" not in r.headers.get("set-cookie", "")
    client.cookies.set(i18n.COOKIE, "en")
    assert "Too many failed sign-ins from this address. Try again in 6 seconds." in sign_in(client).text
    # another address is not slowed
    other = TestClient(app, client=("192.0.2.8", 50000))
    assert sign_in(other).status_code == 303
    # one try per 6 s comes back
    clock.t += 6
    assert sign_in(client).status_code == 303


def test_unknown_api_tokens_are_limited_per_client_address(store):
    app = create_app(store)
    clock = Clock()
    app.state.token_failures = ratelimit.RateLimit(ratelimit.TOKEN_PER_MINUTE, clock=clock)
    good = {"Authorization": "Bearer " + auth.create_token(store.engine, "good", "reader")}
    client = TestClient(app, client=("2001:db8::7", 50000), raise_server_exceptions=False)
    for _ in range(30):  # one stale token sent again and again spends once
        assert client.get("/api/scans", headers={"Authorization": "Bearer stale"}).status_code == 401
    for i in range(ratelimit.TOKEN_PER_MINUTE - 1):
        assert client.get("/api/scans", headers={"Authorization": "Bearer guess%d" % i}).status_code == 401
    r = client.get("/api/scans", headers={"Authorization": "Bearer guess-next"})
    assert r.status_code == 429 and r.headers["retry-after"] == "6" and "try again in 6 s" in r.json()["detail"]
    assert client.get("/api/scans", headers=good).status_code == 429  # the address waits, whatever it sends
    # the same /64 is the same client; another network is not
    assert TestClient(app, client=("2001:db8::8", 1)).get("/api/scans", headers=good).status_code == 429
    assert TestClient(app, client=("2001:db9::7", 1)).get("/api/scans", headers=good).status_code == 200
    assert client.get("/api/health").status_code == 200
    clock.t += 6
    assert client.get("/api/scans", headers=good).status_code == 200


def test_the_limiter_stays_bounded():
    clock = Clock()
    limit = ratelimit.RateLimit(10, clock=clock, max_clients=100)
    for i in range(1000):
        limit.failed("10.0.%d.%d" % (i // 250, i % 250))
        clock.t += 0.01
    assert len(limit._buckets) <= 100
    assert limit.retry_after("10.0.3.249") == 0  # one failure: still allowed


# --- cookies over https, behind a proxy -----------------------------------------------------------


@pytest.fixture
def served(app):
    made = []

    def serve(**options):
        s = ApiServer(app, "127.0.0.1", 0, options).start()
        made.append(s)
        return s

    yield serve
    for s in made:
        s.stop()


def cookies_of(base, headers=None, verify=True):
    """-> Set-Cookie of the sign-in form and of a sign-in."""
    with httpx.Client(base_url=base, headers=headers or {}, verify=verify) as c:
        form = c.get("/panel/login")
        pre = form.headers["set-cookie"]
        # sent back by hand: httpx (like a browser) keeps a Secure cookie off plain http,
        # and here the https part is the proxy's
        r = c.post("/panel/login", data={"name": "ada", "password": PW, "csrf": csrf_of(form.text)},
                   headers={"Cookie": pre.split(";")[0]})
        assert r.status_code == 303, r.text
        return pre, r.headers["set-cookie"]


def test_cookies_are_secure_over_https_and_behind_a_trusted_proxy(served, tmp_path):
    plain = served()
    base = "http://127.0.0.1:%d" % plain.port
    for cookie in cookies_of(base):
        assert "Secure" not in cookie and "HttpOnly" in cookie
    # A reverse proxy on this machine (the default trusted address) terminating https
    for cookie in cookies_of(base, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}):
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    # The same headers from an address that is not a trusted proxy count for nothing
    untrusted = served(forwarded_allow_ips="192.0.2.1")
    for cookie in cookies_of("http://127.0.0.1:%d" % untrusted.port, {"X-Forwarded-Proto": "https"}):
        assert "Secure" not in cookie
    # https served directly (api.tls_cert / tls_key from the site CA)
    certs = Certs(str(tmp_path / "tls"))
    certs.init(["127.0.0.1"])
    direct = served(tls_cert=certs.server_cert, tls_key=certs.server_key)
    import ssl

    for cookie in cookies_of("https://127.0.0.1:%d" % direct.port, verify=ssl.create_default_context(cafile=certs.ca_cert)):
        assert "; Secure" in cookie


def test_rate_limits_see_the_client_behind_a_trusted_proxy(served):
    s = served()
    base = "http://127.0.0.1:%d" % s.port
    with httpx.Client(base_url=base) as c:
        for i in range(ratelimit.TOKEN_PER_MINUTE):
            c.get("/api/scans", headers={"Authorization": "Bearer g%d" % i, "X-Forwarded-For": "198.51.100.1"})
        assert c.get("/api/scans", headers={"Authorization": "Bearer x", "X-Forwarded-For": "198.51.100.1"}).status_code == 429
        assert c.get("/api/scans", headers={"Authorization": "Bearer x", "X-Forwarded-For": "198.51.100.2"}).status_code == 401


# --- secrets ------------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----\s*[A-Za-z0-9+/=\r\n]{40,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    # a password / secret / token given a literal value that looks generated
    "secret assignment": re.compile(r"""(?i)(?<![a-z])(?:password|passwd|secret|api[_-]?key|token)(?![a-z])["']?\s*[:=]\s*["']"""
                                    r"""(?=[^"']*[A-Za-z])(?=[^"']*\d)([A-Za-z0-9_\-+/=.~!@#%^&*]{16,})["']"""),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"<>]+:([^/\s:@'\"<>{}$]{6,})@"),
}
SECRET_FILES = re.compile(r"(^|/)(admin-token|admin-password|gateway\.secret|passwd|\.env|[^/]+\.(key|p12|pfx))$")


def secrets_in(name, text):
    return ["%s: %s line %d" % (kind, name, text.count("\n", 0, m.start()) + 1)
            for kind, p in SECRET_PATTERNS.items() for m in p.finditer(text)]


def test_the_secret_scan_finds_planted_secrets():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    planted = {
        "private key": pem,
        "secret assignment": 'MQTT_PASSWORD = "s3%s"' % secrets.token_urlsafe(18),
        "credentials in a URL": "database_url = 'postgresql://udi:%s@db.plant/udi'" % secrets.token_hex(8),
        "GitHub token": "ghp_" + "a1B2" * 9,
    }
    for kind, text in planted.items():
        assert any(f.startswith(kind) for f in secrets_in("x", text)), kind
    for harmless in ('"password": null', 'PW = "correct horse battery"', '"signin.password": "Password"',
                     "postgresql://udi@localhost/udi", 'assert pem.startswith("-----BEGIN PRIVATE KEY-----")'):
        assert secrets_in("x", harmless) == [], harmless


def test_no_secret_in_the_repository():
    # What git has and what `git add -A` would add (not what .gitignore keeps out, like data/).
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    files = [f for f in listed if f and os.path.isfile(os.path.join(ROOT, f))]
    assert len(files) > 200
    assert [f for f in files if SECRET_FILES.search(f)] == []
    found = []
    for f in files:
        with open(os.path.join(ROOT, f), "rb") as fh:
            data = fh.read(2_000_000)
        if b"\0" not in data:  # text files
            found += secrets_in(f, data.decode("utf-8", "replace"))
    assert found == []
    ignored = subprocess.run(["git", "check-ignore", "data/tls/ca.key", "data/admin-token", "data/broker/passwd"],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == ["data/tls/ca.key", "data/admin-token", "data/broker/passwd"]


LOG_RUN = r"""
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every SQL statement with its parameters
from gateway.cli import main
sys.exit(main(["run", "--config", sys.argv[1], "--handhelds", "2", "--scans", "3"]))
"""


def test_the_gateways_logs_hold_no_secret(tmp_path):
    # A whole gateway (embedded broker, simulated handhelds with their own logins, API, panel), every
    # logger at DEBUG; sign in, use tokens good and bad; then look for every secret in everything it wrote.
    data = tmp_path / "data"
    (tmp_path / "gw.toml").write_text('data_dir = "%s"\n[mqtt]\nport = %d\n[api]\nport = 0\n' % (data, free_port()))
    err = open(tmp_path / "stderr.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", LOG_RUN, str(tmp_path / "gw.toml")], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    out_lines = []
    base = None
    try:
        for line in proc.stdout:
            out_lines.append(line)
            m = re.search(r"panel: (http://[\d.]+:\d+)/", line)
            if m:
                base = m.group(1)
            if line.startswith("simulated handhelds:"):
                break
        assert base, "".join(out_lines)
        token = (data / "admin-token").read_text().strip()
        password = (data / "admin-password").read_text().strip()
        with httpx.Client(base_url=base) as c:
            assert c.get("/api/scans", headers={"Authorization": "Bearer " + token}).status_code == 200
            assert c.get("/api/scans", headers={"Authorization": "Bearer " + token[:-4] + "xxxx"}).status_code == 401
            form = c.get("/panel/login")
            assert c.post("/panel/login", data={"name": "admin", "password": password + "!", "csrf": csrf_of(form.text)}).status_code == 401
            form = c.get("/panel/login")
            r = c.post("/panel/login", data={"name": "admin", "password": password, "csrf": csrf_of(form.text)})
            assert r.status_code == 303
            session = c.cookies["panel_session"]
            assert c.get("/panel").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out_lines.append(proc.communicate(timeout=60)[0] or "")
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    logs = "".join(out_lines) + (tmp_path / "stderr.log").read_text() + (data / "broker" / "mosquitto.log").read_text()
    assert "sqlalchemy.engine" in logs and "New client connected" in logs  # every logger wrote, the broker too
    assert auth.hash_token(token) in logs  # the token's lookup is in the SQL log: by its hash only
    device_passwords = []
    for args in (data / "handhelds").glob("vm*.json"):
        assert args.stat().st_mode & 0o077 == 0  # the simulator's copy of the passwords: private too
        device_passwords += [p for p in json.loads(args.read_text())["credentials"].values() if p]
    assert len(device_passwords) == 2
    secrets_ = {"admin token": token, "panel password": password, "session cookie": session,
                "gateway MQTT password": (data / "broker" / "gateway.secret").read_text().strip(),
                **{"device password %d" % i: p for i, p in enumerate(device_passwords)}}
    leaked = [what for what, value in secrets_.items() if value in logs]
    assert leaked == [], leaked
