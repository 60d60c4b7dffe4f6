"""The files in deploy/ as docs/deployment.md installs them: the mosquitto
configuration runs in a real mosquitto with the logins `udi-edge device add`
writes (TLS with the site CA, anonymous refused, each handheld on its own
topics, scans shared by the gateways); the systemd units pass
`systemd-analyze verify`; the backup script writes a backup and prunes old
ones; the example configurations use only settings the gateway knows; the
PostgreSQL set-up gives a role that migrates its own database."""

import getpass
import os
import shutil
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from gateway.broker import free_port, find_mosquitto
from gateway.mqtt_access import GATEWAY_USER, Access

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")


def site_broker(tmp_path):
    # Debian's main mosquitto.conf (persistence, conf.d included) with our conf.d file in it,
    # its paths and ports moved into tmp_path.
    from gateway.tls import Certs

    files = tmp_path / "etc"
    certs = Certs(str(files)).init(["localhost", "127.0.0.1"])
    access = Access(str(files))
    gw_password = access.prepare()[1]
    passwords = {dev: access.provision(dev) for dev in ("hh1", "hh2")}  # what `udi-edge device add` does
    tls_port, plain_port = free_port(), free_port()
    conf = open(os.path.join(DEPLOY, "mosquitto", "udi-edge.conf")).read()
    conf = (conf.replace("/etc/mosquitto/udi-edge/", str(files) + "/").replace("listener 8883", "listener %d" % tls_port)
            .replace("listener 1883 127.0.0.1", "listener %d 127.0.0.1" % plain_port))
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "udi-edge.conf").write_text(conf)
    (tmp_path / "mosquitto.conf").write_text("persistence true\npersistence_location %s/\nlog_dest file %s/mosquitto.log\n"
                                             "user %s\ninclude_dir %s/conf.d\n" % (tmp_path, tmp_path, getpass.getuser(), tmp_path))
    proc = subprocess.Popen([find_mosquitto(), "-c", str(tmp_path / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, certs, gw_password, passwords, tls_port, plain_port


def client(cid, user, password, port, certs=None):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid)
    if user:
        c.username_pw_set(user, password)
    if certs:
        c.tls_set(ca_certs=certs["ca"])
    got, connected = [], threading.Event()
    c.on_message = lambda cl, u, m: got.append((m.topic, m.payload))
    c.on_connect = lambda cl, u, flags, rc, p: (connected.set(), setattr(c, "rc", rc))
    c.got = got
    c.connect("localhost" if certs else "127.0.0.1", port)
    c.loop_start()
    connected.wait(10)
    return c


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
def test_the_site_mosquitto_configuration(tmp_path):
    proc, certs, gw_password, passwords, tls_port, plain_port = site_broker(tmp_path)
    clients = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", tls_port), 0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.05)
        gws = [client("udi-edge-line%d" % i, GATEWAY_USER, gw_password, tls_port, certs) for i in (1, 2)]
        clients += gws
        assert [g.rc for g in gws] == [0, 0] and all(g.is_connected() for g in gws)
        for g in gws:
            g.subscribe("$share/udi-edge/udi/v1/dev/+/scan", 1)[0]
        hh1 = client("hh1", "hh1", passwords["hh1"], tls_port, certs)
        spy = client("hh2", "hh2", passwords["hh2"], tls_port, certs)
        clients += [hh1, spy]
        # another handheld's scans, plainly or in a shared group of its own: the ACL delivers nothing
        spy.subscribe([("udi/v1/dev/+/scan", 1), ("$share/spy/udi/v1/dev/+/scan", 1)])
        time.sleep(0.3)
        for seq in range(10):
            hh1.publish("udi/v1/dev/hh1/scan", b'{"seq": %d}' % seq, qos=1).wait_for_publish(5)
        hh1.publish("udi/v1/dev/hh2/scan", b"forged", qos=1).wait_for_publish(5)  # not its topic: dropped
        deadline = time.monotonic() + 10
        while sum(len(g.got) for g in gws) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert sorted(len(g.got) for g in gws) == [5, 5]  # shared: each scan to one gateway, in turns
        assert all(t == "udi/v1/dev/hh1/scan" for g in gws for t, _ in g.got)
        assert spy.got == []
        anon = client("anon", None, None, plain_port)
        wrong = client("hh1b", "hh1", "not-its-password", tls_port, certs)
        local = client("udi-edge-local", GATEWAY_USER, gw_password, plain_port)
        clients += [anon, wrong, local]
        assert anon.rc != 0 and wrong.rc != 0 and local.rc == 0
    finally:
        for c in clients:
            c.loop_stop()
            c.disconnect()
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify(tmp_path):
    for name in os.listdir(os.path.join(DEPLOY, "systemd")):
        text = open(os.path.join(DEPLOY, "systemd", name)).read()
        # where the units expect the installation (docs/deployment.md): here, this checkout
        text = text.replace("/opt/udi-edge/.venv/bin/", os.path.dirname(sys.executable) + "/").replace("/opt/udi-edge/", ROOT + "/")
        (tmp_path / name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "error" not in r.stderr.lower(), r.stderr


def test_the_backup_script_writes_a_backup_and_prunes_old_ones(tmp_path):
    from gateway.store import Store

    db = tmp_path / "data" / "udi-edge.sqlite"
    os.makedirs(db.parent)
    Store("sqlite:///" + str(db))
    conf = tmp_path / "gateway.toml"
    conf.write_text('data_dir = "%s"\n' % (tmp_path / "data"))
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "udi-edge-20200101-000000.sqlite"
    old.write_bytes(b"an old backup")
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    kept = backups / "udi-edge-yesterday.sqlite"
    kept.write_bytes(b"yesterday's")
    env = dict(os.environ, UDI_EDGE=os.path.join(os.path.dirname(sys.executable), "udi-edge"), KEEP_DAYS="14", PYTHONPATH=ROOT)
    r = subprocess.run(["sh", os.path.join(DEPLOY, "udi-edge-backup"), str(conf), str(backups)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    new = [p for p in backups.iterdir() if p not in (old, kept)]
    assert len(new) == 1 and new[0].suffix == ".sqlite" and new[0].stat().st_size > 0
    assert not old.exists() and kept.exists()


def test_the_example_configurations_use_only_known_settings():
    # Every setting in them is one the gateway knows; what remains is the files a site puts in place.
    from gateway import config as C

    for name in ("gateway.toml.example", "broker.toml.example"):
        cfg, problems = C.load(os.path.join(DEPLOY, name), environ={})
        assert all("no such file" in p for p in problems), (name, problems)
    cfg, _ = C.load(os.path.join(DEPLOY, "gateway.toml.example"), environ={})
    assert cfg["gateway_id"] == "line1" and C.broker_address(cfg) == ("broker.plant.lan", 8883, True)


def test_the_postgres_setup_gives_a_role_that_migrates_its_database(pg_cluster):
    # deploy/postgres/setup.sql as the superuser, then the gateway as udi_edge: it creates the schema itself.
    from sqlalchemy import inspect

    from gateway.schema import metadata
    from gateway.store import Store
    from postgres import server_bin

    r = subprocess.run([os.path.join(server_bin(), "psql"), "-h", "127.0.0.1", "-p", str(pg_cluster.port), "-U", "postgres",
                        "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-f", os.path.join(DEPLOY, "postgres", "setup.sql")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    store = Store("postgresql+psycopg://udi_edge@127.0.0.1:%d/udi_edge" % pg_cluster.port)
    assert set(metadata.tables) <= set(inspect(store.engine).get_table_names())
    store.engine.dispose()
