"""MQTT over TLS with the site's own certificates (gateway.tls): a real
mosquitto (the embedded broker) with its TLS listener, per-device logins and
topic ACLs; paho-mqtt clients, the gateway's own client on an mqtts:// URL,
and the real firmware (mqttc and the whole handheld) on the MicroPython VM,
which has mbedTLS."""

import json
import os
import socket
import ssl
import subprocess
import sys
import threading

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509

from gateway import config as C
from gateway.broker import EmbeddedBroker, TlsListener
from gateway.mqtt_access import Access
from gateway.service import Gateway
from gateway.sim import handhelds
from gateway.tls import CertError, Certs, client_context
from tests import micropython_vm
from test_mqtt_client import MOSQUITTO, mpy_dir  # noqa: F401 (mqttc as .mpy, as it ships)

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")

ROOT = micropython_vm.ROOT


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    c = Certs(str(tmp_path_factory.mktemp("tls")))
    c.init(["127.0.0.1"])  # the address only: "localhost" is a wrong name for it
    c.device("hhA")
    return c


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    # Another site's CA (and a device certificate from it): trusted by nobody here.
    c = Certs(str(tmp_path_factory.mktemp("tls-other")))
    c.init(["127.0.0.1"])
    c.device("hhA")
    return c


class Site:
    """The embedded broker with a TLS listener and per-device logins."""

    def __init__(self, tmp_path, certs, require_certificate=False):
        self.access = Access(str(tmp_path / "broker"))
        self.gw_user, self.gw_password = self.access.prepare()
        self.passwords = {dev: self.access.provision(dev) for dev in ("hhA", "hhB")}
        self.broker = EmbeddedBroker(str(tmp_path), 0, access=self.access,
                                     tls=TlsListener(certs, 0, "127.0.0.1", require_certificate)).start()
        self.certs = certs
        self.tls_port = self.broker.tls.port
        self.clients = []

    def client(self, user, password=None, ctx=None, host="127.0.0.1", port=None, cid=None):
        """-> a connected client, or the reason it was refused (str)."""
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid or "t-%s-%d" % (user, len(self.clients)))
        c.username_pw_set(user, password if password is not None else self.passwords.get(user, self.gw_password))
        if ctx is not None:
            c.tls_set_context(ctx)
        answered = threading.Event()
        result = {}

        def on_connect(cl, ud, flags, rc, props):
            result["rc"] = rc
            answered.set()

        c.on_connect = on_connect
        c.on_disconnect = lambda cl, ud, flags, rc, props: answered.set()
        c.messages = []
        c.on_message = lambda cl, ud, m: c.messages.append((m.topic, m.payload))
        try:
            c.connect(host, port or self.tls_port, keepalive=10)
        except (OSError, ssl.SSLError) as e:
            return "refused: %s" % e
        c.loop_start()
        self.clients.append(c)
        if not answered.wait(5):
            return "refused: no CONNACK"
        if result.get("rc") != 0:
            return "refused: %s" % result.get("rc", "connection closed")
        return c

    def stop(self):
        for c in self.clients:
            c.disconnect()
            c.loop_stop()
        self.broker.stop()


@pytest.fixture
def site(tmp_path, certs):
    s = Site(tmp_path, certs)
    yield s
    s.stop()


def ctx_for(certs, cert=None):
    ctx = ssl.create_default_context(cafile=certs.ca_cert)
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


def subscribed(c, topic):
    done = threading.Event()
    c.on_subscribe = lambda cl, ud, mid, codes, props: done.set()
    c.subscribe(topic, 1)
    assert done.wait(5), "no SUBACK"


def published(c, topic, payload):
    info = c.publish(topic, payload, qos=1)
    info.wait_for_publish(5)
    return info.is_published()


def wait_for(cond, timeout=5.0):
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if cond():
            return True
        done.wait(0.05)
    return cond()


# --- certificates ------------------------------------------------------------------------


def test_init_makes_a_site_ca_and_a_server_certificate_for_the_given_names(tmp_path):
    c = Certs(str(tmp_path / "tls"))
    c.init(["gw.plant.local", "192.168.1.10", "fd00::10"])
    for key in (c.ca_key, c.server_key):
        assert os.stat(key).st_mode & 0o077 == 0  # private keys: the gateway's user only
    server = x509.load_pem_x509_certificate(open(c.server_cert, "rb").read())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gw.plant.local"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.168.1.10", "fd00::10"]
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ca = x509.load_pem_x509_certificate(open(c.ca_cert, "rb").read())
    server.verify_directly_issued_by(ca)
    # Run again (a new address): the CA stays, the server certificate is new.
    first_ca = open(c.ca_cert).read()
    c.init(["192.168.1.11"])
    assert open(c.ca_cert).read() == first_ca
    assert c.describe(c.server_cert)["names"] == ["192.168.1.11"]
    # A handheld's client certificate: its device id as the common name.
    cert, key = c.device("hh0a1b2c3d4e5f")
    assert "CN=hh0a1b2c3d4e5f" == c.describe(cert)["subject"] and os.stat(key).st_mode & 0o077 == 0


@pytest.mark.parametrize("hosts, words", [([], "at least one"), (["bad host"], "'bad host'"),
                                          (["ok.local", "-x-", "1.2.3"], "'-x-', '1.2.3'")])
def test_bad_names_are_refused_naming_them(tmp_path, hosts, words):
    c = Certs(str(tmp_path / "tls"))
    with pytest.raises(CertError, match=words):
        c.init(hosts)
    assert not os.path.exists(c.ca_cert)  # nothing half-made


def test_device_certificates_need_the_ca_and_a_device_id(tmp_path):
    c = Certs(str(tmp_path / "tls"))
    with pytest.raises(CertError, match="certs init"):
        c.device("hh1")
    c.init(["127.0.0.1"])
    with pytest.raises(CertError, match="device id"):
        c.device("../etc/passwd")


def test_certs_from_the_command_line(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)

    made = run("certs", "init", "--host", "gw.local", "--host", "10.0.0.5")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout.splitlines()[0])["names"] == ["gw.local", "10.0.0.5"]
    assert "BEGIN" not in made.stdout  # no key (nor certificate body) on the terminal
    assert json.loads(run("certs", "device", "hh01").stdout)["cert"].endswith("devices/hh01.crt")
    assert "UDI Edge site CA" in run("certs", "show").stdout
    bad = run("certs", "init", "--host", "no spaces")
    assert bad.returncode == 1 and "no spaces" in bad.stderr
    # With the TLS listener configured, a new handheld's login says how to connect.
    (tmp_path / "gw.toml").write_text("[mqtt]\ntls_port = 8883\n")
    login = json.loads(run("device", "--config", "gw.toml", "add", "hh01").stdout)["mqtt"]
    assert login["tls"] is True and login["port"] == 8883 and login["ca_file"] == "ca.crt"


# --- the broker's TLS listener --------------------------------------------------------------


def test_a_client_with_the_site_ca_connects_and_publishes_its_own_topic(site):
    gw = site.client(site.gw_user, port=site.broker.port)  # the gateway, on the local plain listener
    subscribed(gw, "udi/v1/#")
    a = site.client("hhA", ctx=ctx_for(site.certs))
    assert not isinstance(a, str), a
    assert published(a, "udi/v1/dev/hhA/scan", b"scan-over-tls")
    assert wait_for(lambda: ("udi/v1/dev/hhA/scan", b"scan-over-tls") in gw.messages)


def test_without_the_ca_or_with_a_wrong_name_the_client_refuses(site, other_ca):
    # The system's CAs do not know the site CA; another site's CA does not either.
    for ctx in (ssl.create_default_context(), ctx_for(other_ca)):
        refused = site.client("hhA", ctx=ctx)
        assert isinstance(refused, str) and "CERTIFICATE_VERIFY_FAILED" in refused, refused
    # The certificate is for 127.0.0.1, not for "localhost".
    refused = site.client("hhA", ctx=ctx_for(site.certs), host="localhost")
    assert isinstance(refused, str) and "CERTIFICATE_VERIFY_FAILED" in refused and "localhost" in refused, refused


def test_plain_mqtt_on_the_tls_port_gets_nowhere(site):
    refused = site.client("hhA")  # no TLS: the broker waits for a TLS hello and drops the connection
    assert isinstance(refused, str), "plain MQTT was accepted on the TLS port"


def test_logins_and_acls_hold_over_tls(site):
    gw = site.client(site.gw_user, port=site.broker.port)
    subscribed(gw, "udi/v1/#")
    a = site.client("hhA", ctx=ctx_for(site.certs))
    b = site.client("hhB", ctx=ctx_for(site.certs))
    assert not isinstance(a, str) and not isinstance(b, str)
    # wrong password and no login are refused over TLS too (5: not authorised)
    assert site.client("hhA", password="wrong", ctx=ctx_for(site.certs)).startswith("refused")
    assert site.client("nobody", password="x", ctx=ctx_for(site.certs)).startswith("refused")
    # A subscribes to B's answers and config; B subscribes to its own.
    subscribed(a, "udi/v1/dev/hhB/#")
    subscribed(b, "udi/v1/dev/hhB/answer")
    # A publishes as B: the broker acknowledges (MQTT 3.1.1) but drops it.
    assert published(a, "udi/v1/dev/hhB/scan", b"forged")
    assert published(b, "udi/v1/dev/hhB/scan", b"real")
    assert wait_for(lambda: ("udi/v1/dev/hhB/scan", b"real") in gw.messages)
    assert published(gw, "udi/v1/dev/hhB/answer", b"answer-for-B")
    assert wait_for(lambda: ("udi/v1/dev/hhB/answer", b"answer-for-B") in b.messages)
    # B's own traffic arrived after A's attempts; A saw none of B's and forged nothing.
    assert ("udi/v1/dev/hhB/scan", b"forged") not in gw.messages
    assert a.messages == []


def test_require_certificate_wants_a_client_certificate_of_the_site_ca(tmp_path, certs, other_ca):
    site = Site(tmp_path, certs, require_certificate=True)
    try:
        assert site.client("hhA", ctx=ctx_for(certs)).startswith("refused")  # no client certificate
        foreign = (os.path.join(other_ca.devices, "hhA.crt"), os.path.join(other_ca.devices, "hhA.key"))
        assert site.client("hhA", ctx=ctx_for(certs, foreign)).startswith("refused")
        own = (os.path.join(certs.devices, "hhA.crt"), os.path.join(certs.devices, "hhA.key"))
        assert site.client("hhA", password="wrong", ctx=ctx_for(certs, own)).startswith("refused")  # and the password
        a = site.client("hhA", ctx=ctx_for(certs, own))
        assert not isinstance(a, str), a
        assert published(a, "udi/v1/dev/hhA/scan", b"x")
    finally:
        site.stop()


# --- the gateway's own client on an mqtts:// broker -------------------------------------------


def test_the_gateway_verifies_an_mqtts_broker(tmp_path, site):
    # site's broker stands in for a broker of the plant's own; the gateway logs in with its login there.
    cfg, problems = C.load(None, environ={})
    cfg.update(data_dir=str(tmp_path / "gw"))
    cfg["mqtt"].update(url="mqtts://127.0.0.1:%d" % site.tls_port, user=site.gw_user, password=site.gw_password,
                       ca_file=site.certs.ca_cert)
    cfg["api"]["port"] = 0
    assert C.check(cfg) == []
    gw = Gateway(cfg).start()
    try:
        assert gw.ingest.connected.is_set() and gw.broker is None  # no embedded broker: the configured one
    finally:
        gw.stop()
    # No CA given: the system's CAs, which do not know the site CA; the name is checked as well.
    for ctx, host in ((client_context(None), "127.0.0.1"), (client_context(site.certs.ca_cert), "localhost")):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-check")
        c.tls_set_context(ctx)
        with pytest.raises(ssl.SSLCertVerificationError):
            c.connect(host, site.tls_port)
    assert client_context(None).verify_mode == ssl.CERT_REQUIRED and client_context(None).check_hostname


def test_tls_settings_are_checked(tmp_path):
    def problems(**mqtt_settings):
        cfg, _ = C.load(None, environ={})
        cfg["mqtt"].update(mqtt_settings)
        return C.check(cfg)

    assert problems(tls_port=8883) == []
    assert any("mqtt.tls_port" in p for p in problems(tls_port="x"))
    assert any("mqtt.tls_port" in p for p in problems(tls_port=1883))  # the plain port
    assert any("embedded broker" in p for p in problems(tls_port=8883, url="mqtts://broker:8883"))
    assert any("no such file" in p for p in problems(url="mqtts://b", ca_file=str(tmp_path / "missing.crt")))
    assert any("only used with an mqtts://" in p for p in problems(url="mqtt://b", ca_file=__file__))
    assert any("require_certificate" in p for p in problems(require_certificate="yes"))
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret-from-a-file\n")
    cfg, _ = C.load(None, environ={"UDI_EDGE_MQTT_PASSWORD_FILE": str(secret), "UDI_EDGE_MQTT_USER": "gw",
                                   "UDI_EDGE_MQTT_URL": "mqtt://b"})
    assert cfg["mqtt"]["password"] == "s3cret-from-a-file"


def test_the_tls_listener_needs_certificates_and_says_how_to_make_them(tmp_path):
    from gateway.broker import BrokerError

    b = EmbeddedBroker(str(tmp_path), 0, tls=TlsListener(Certs(str(tmp_path / "tls")), 0))
    with pytest.raises(BrokerError, match="udi-edge certs init"):
        b.start()


# --- the real firmware on the MicroPython VM ----------------------------------------------------

MQTTC_SCRIPT = r"""
import asyncio, sys, mqttc
ARGS = %r

async def attempt(name, ca, host):
    c = mqttc.MQTTClient(ARGS["dev"], "127.0.0.1", ARGS["port"], user=ARGS["dev"], password=ARGS["password"],
                         ssl={"ca": ca, "verify": True, "server_hostname": host}, connect_timeout_s=5, max_retries=0,
                         backoff_min_s=5, backoff_max_s=5)
    settled = asyncio.Event()  # connected, or the first failure: no waiting out a backoff

    def status(state, err):
        if state in ("connected", "backoff"):
            settled.set()

    c.on_status = status
    c.start()
    await asyncio.wait_for(settled.wait(), 10)
    ok = c.is_connected()
    if ok:
        ok = await c.publish("udi/v1/dev/%%s/scan" %% ARGS["dev"], name, qos=1)
    print(name, "OK" if ok else "REFUSED", c.last_error)
    await c.disconnect()

async def main():
    await attempt("site-ca", ARGS["ca"], "127.0.0.1")
    await attempt("other-ca", ARGS["other_ca"], "127.0.0.1")
    await attempt("wrong-name", ARGS["ca"], "gw.elsewhere")

asyncio.run(main())
"""


def test_firmware_mqtt_client_on_the_vm_verifies_the_broker(site, other_ca, tmp_path, mpy_dir):
    # firmware/mqttc.py (compiled, as it ships) on the MicroPython VM (mbedTLS), 100 KB heap as on the handheld
    gw = site.client(site.gw_user, port=site.broker.port)
    subscribed(gw, "udi/v1/#")
    script = tmp_path / "tls_client.py"
    script.write_text(MQTTC_SCRIPT % {"dev": "hhA", "password": site.passwords["hhA"], "port": site.tls_port,
                                      "ca": site.certs.ca_cert, "other_ca": other_ca.ca_cert})
    r = micropython_vm.run(str(script), heap="100K", path=(mpy_dir,), cwd=str(tmp_path))
    lines = [ln.split(" ", 2) for ln in r.stdout.splitlines()]
    assert r.returncode == 0, r.stdout + r.stderr
    assert [ln[:2] for ln in lines] == [["site-ca", "OK"], ["other-ca", "REFUSED"], ["wrong-name", "REFUSED"]], r.stdout
    assert "not correctly signed by the trusted CA" in lines[1][2], lines[1]  # mbedTLS's words
    assert "Common Name (CN) does not match" in lines[2][2], lines[2]
    assert wait_for(lambda: ("udi/v1/dev/hhA/scan", b"site-ca") in gw.messages)
    assert [p for t, p in gw.messages if t == "udi/v1/dev/hhA/scan"] == [b"site-ca"]


def test_handhelds_running_the_firmware_reach_the_gateway_over_tls(tmp_path):
    # The whole handheld (firmware/app.py: config.json with tls and ca_file) against
    # the gateway's embedded broker: scans over TLS are stored once and answered.
    cfg, problems = C.load(None, environ={})
    cfg["data_dir"] = str(tmp_path / "data")
    cfg["mqtt"].update(port=0, tls_port=0, tls_host="127.0.0.1")
    cfg["api"]["port"] = 0
    certs = Certs(os.path.join(cfg["data_dir"], "tls"))
    certs.init(["127.0.0.1"])
    gw = Gateway(cfg).start()
    try:
        with open(os.path.join(ROOT, "firmware", "config.json")) as f:
            hh = json.load(f)
        hh["mqtt"].update(tls=True, ca_file=certs.ca_cert)
        (tmp_path / "config.json").write_text(json.dumps(hh))
        devs = handhelds.device_ids(2, per_vm=2)
        creds = {dev: gw.provision(dev) for dev in devs}
        summary = handhelds.run(count=2, broker="127.0.0.1:%d" % gw.broker.tls.port, per_device=3, rate=20,
                                root=str(tmp_path / "hh"), per_vm=2, credentials=creds, config=str(tmp_path / "config.json"),
                                timeout_s=120)
        assert summary["errors"] == [] and summary["undelivered"] == 0 and summary["scans"] == 6, summary
        assert wait_for(lambda: gw.ingest.stats["scans"] + gw.ingest.stats["duplicates"] >= 6, 10)
        assert sorted({r["dev"] for r in gw.store.scans(limit=20)}) == sorted(devs)
    finally:
        gw.stop()
