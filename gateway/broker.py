"""The embedded broker: a mosquitto the gateway starts itself when no broker
is configured (installed by scripts/setup.sh).  Its plain listener is bound
to 127.0.0.1 (the gateway, local tools); handhelds on the network reach it
through the TLS listener (docs/protocol.md, "TLS"), with the same logins and
topic ACLs."""

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass


class BrokerError(Exception):
    pass


def find_mosquitto():
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), None
    )


@dataclass
class TlsListener:
    """A TLS listener of the embedded broker (certificates: gateway.tls.Certs)."""

    certs: object  # gateway.tls.Certs
    port: int = 8883  # 0: any free port (tests)
    host: str = "0.0.0.0"
    require_certificate: bool = False  # also a client certificate signed by the site CA (besides the password)

    def conf(self):
        # per_listener_settings stays false: the password file and the ACL
        # are global, so they hold on this listener exactly as on the plain one.
        # mosquitto 2 accepts TLS 1.2 and 1.3 only (its default).
        return ("listener %d %s\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %s\n"
                % (self.port, self.host, self.certs.ca_cert, self.certs.server_cert, self.certs.server_key,
                   "true" if self.require_certificate else "false"))


class EmbeddedBroker:
    # access: a gateway.mqtt_access.Access for per-device logins and topic
    # ACLs (the gateway's default); None = anonymous (benchmarks, tests of
    # other things).  tls: a TlsListener for handhelds on the network.
    def __init__(self, data_dir, port=1883, host="127.0.0.1", access=None, tls=None):
        self.host = host
        self.port = port
        self.dir = os.path.join(data_dir, "broker")
        self.proc = None
        self.access = access
        self.tls = tls

    def start(self, timeout_s=5):
        # A port already taken (say, a system mosquitto on 1883) moves the
        # embedded broker to a free one; the gateway uses whatever it got.
        if not self.port or _in_use(self.host, self.port):
            self.port = free_port(self.host)
        exe = find_mosquitto()
        if exe is None:
            raise BrokerError("mosquitto is not installed: run scripts/setup.sh, or set mqtt.url to a broker")
        if self.tls is not None:
            self._check_tls()
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            # set_tcp_nodelay: small PUBACKs must not wait for Nagle (firmware.md, mqttc tests)
            # persistence: sessions and queued QoS 1 messages (scans for a gateway
            # that is restarting, retained configs) survive a broker restart
            # max_inflight_messages: the gateway acknowledges a scan only once it is
            # stored, so up to this many wait for their batch (mosquitto's default 20 starves it)
            f.write("listener %d %s\npersistence true\npersistence_location %s/\nautosave_interval 10\n"
                    "max_queued_messages 100000\nmax_inflight_messages 100\nset_tcp_nodelay true\n" % (self.port, self.host, self.dir))
            # as root, mosquitto would switch to user "mosquitto", which cannot read our 0600 files
            f.write("user %s\n" % getpass.getuser())
            if self.access is None:
                f.write("allow_anonymous true\n")
            else:
                f.write("allow_anonymous false\npassword_file %s\nacl_file %s\n" % (self.access.passwd, self.access.acl))
            if self.tls is not None:
                f.write(self.tls.conf())
        log = open(os.path.join(self.dir, "mosquitto.log"), "a")
        self.proc = subprocess.Popen([exe, "-c", conf], stdout=log, stderr=log)
        log.close()
        with open(os.path.join(self.dir, "mosquitto.pid"), "w") as f:
            f.write("%d\n" % self.proc.pid)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError("mosquitto exited (port %d in use?); see %s" % (self.port, os.path.join(self.dir, "mosquitto.log")))
            if all(_in_use(h, p) for h, p in self._listeners()):
                return self
            time.sleep(0.05)
        raise BrokerError("mosquitto did not open port %s; see %s" % (
            " and ".join(str(p) for _, p in self._listeners()), os.path.join(self.dir, "mosquitto.log")))

    def _listeners(self):
        out = [(self.host, self.port)]
        if self.tls is not None:
            out.append(("127.0.0.1" if self.tls.host in ("0.0.0.0", "::", "") else self.tls.host, self.tls.port))
        return out

    def _check_tls(self):
        # Handhelds are set up with this port: it does not move when taken
        # (the plain one may), the start fails and says so.
        missing = self.tls.certs.missing()
        if missing:
            raise BrokerError("the TLS listener needs the site's certificates (%s): run `udi-edge certs init --host "
                              "<the gateway's address>` (docs/protocol.md, TLS)" % ", ".join(missing))
        if not self.tls.port:
            self.tls.port = free_port(self._listeners()[1][0])
        elif _in_use(self._listeners()[1][0], self.tls.port):
            raise BrokerError("mqtt.tls_port %d is in use by another program" % self.tls.port)

    def stop(self):
        try:
            os.remove(os.path.join(self.dir, "mosquitto.pid"))
        except OSError:
            pass
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _in_use(host, port):
    try:
        socket.create_connection((host, port), 0.2).close()
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port
