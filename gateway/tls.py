"""The site's own certificates for MQTT over TLS (docs/protocol.md, "TLS"):
a site CA, the broker's server certificate for the names and addresses the
handhelds use to reach it, and optional client certificates for handhelds
when the broker requires one.  `udi-edge certs` drives it.

A plant network has no public name for its gateway, so a public CA cannot
vouch for it; the site CA can, and its certificate (public) goes into every
handheld.  Keys are ECDSA P-256: small for the handheld's mbedTLS, and
verified quickly there.  Private keys are written 0600 under data/tls/ and
never printed; the CA's key can be moved off the gateway once the broker's
and the handhelds' certificates are made (docs/security.md)."""

import datetime
import ipaddress
import os
import re
import ssl

from gateway.mqtt_access import DEVICE_ID

CA_DAYS = 10 * 365
LEAF_DAYS = 825  # the longest leaf lifetime common TLS clients accept
# A host name as it goes into a certificate (RFC 1123 labels; a leading
# "*." is not offered: one broker, its own names).
HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


class CertError(Exception):
    pass


def _x509():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as e:  # pragma: no cover - a dependency of the gateway
        raise CertError("the cryptography package is needed for certificates: pip install cryptography (%s)" % e)
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def parse_hosts(hosts):
    """Names and addresses for the server certificate -> (dns names, ip
    addresses); raises CertError naming each bad one."""
    names, ips, bad = [], [], []
    for h in hosts:
        h = (h or "").strip()
        try:
            ips.append(ipaddress.ip_address(h))
            continue
        except ValueError:
            pass
        if HOSTNAME.match(h) and not h.replace(".", "").isdigit():
            names.append(h.lower())
        else:
            bad.append(h)
    if bad:
        raise CertError("not a host name or IP address: %s" % ", ".join(repr(b) for b in bad))
    if not names and not ips:
        raise CertError("give at least one host name or IP address the handhelds use to reach the broker (--host)")
    return names, ips


def _write(path, data, private):
    # Keys 0600 from the first byte (no window where another user could read them).
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


class Certs:
    """The certificate files of one gateway, in `directory` (data/tls)."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_cert = os.path.join(directory, "ca.crt")
        self.ca_key = os.path.join(directory, "ca.key")
        self.server_cert = os.path.join(directory, "server.crt")
        self.server_key = os.path.join(directory, "server.key")
        self.devices = os.path.join(directory, "devices")

    def ready(self):
        return all(os.path.exists(p) for p in (self.ca_cert, self.server_cert, self.server_key))

    def missing(self):
        return [p for p in (self.ca_cert, self.server_cert, self.server_key) if not os.path.exists(p)]

    def init(self, hosts, days=LEAF_DAYS, now=None):
        """The site CA (made once, kept afterwards) and a server certificate
        for `hosts` (made again every time: new addresses, a renewal).
        -> the paths written."""
        names, ips = parse_hosts(hosts)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        if not os.path.exists(self.ca_cert):
            self._new_ca(now)
        elif not os.path.exists(self.ca_key):
            raise CertError("%s is here but not its key %s: put the CA key back to issue certificates" % (self.ca_cert, self.ca_key))
        x509, _, _, _, EKU, NameOID = _x509()
        san = [x509.DNSName(n) for n in names] + [x509.IPAddress(i) for i in ips]
        self._issue(self.server_cert, self.server_key, "udi-edge broker " + str((names + ips)[0]), san,
                    EKU.SERVER_AUTH, days, now)
        return {"ca": self.ca_cert, "server_cert": self.server_cert, "server_key": self.server_key}

    def device(self, dev, days=LEAF_DAYS, now=None):
        """A client certificate for handheld `dev` (common name = device id) -> (cert path, key path)."""
        if not isinstance(dev, str) or not DEVICE_ID.match(dev):
            raise CertError("device id must be 1-32 of A-Z a-z 0-9 _ - (docs/protocol.md), got %r" % (dev,))
        if not os.path.exists(self.ca_key):
            raise CertError("no site CA in %s: run `udi-edge certs init --host ...` first" % self.dir)
        os.makedirs(self.devices, mode=0o700, exist_ok=True)
        cert, key = os.path.join(self.devices, dev + ".crt"), os.path.join(self.devices, dev + ".key")
        _, _, _, _, EKU, _ = _x509()
        self._issue(cert, key, dev, [], EKU.CLIENT_AUTH, days, now)
        return cert, key

    def describe(self, path):
        """Subject, names, validity and SHA-256 fingerprint of a certificate (for `udi-edge certs show`)."""
        x509, hashes, _, _, _, _ = _x509()
        with open(path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [str(v) for v in san.get_values_for_type(x509.DNSName)] + \
                    [str(v) for v in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            names = []
        return {"file": path, "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
                "names": names, "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%d"),
                "sha256": cert.fingerprint(hashes.SHA256()).hex(":")}

    # -- internals ---------------------------------------------------------------------

    def _new_ca(self, now):
        x509, hashes, serialization, ec, _, NameOID = _x509()
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UDI Edge site"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "UDI Edge site CA")])
        start = now or datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start - datetime.timedelta(hours=1))  # handheld clocks run a little behind
                .not_valid_after(start + datetime.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        _write(self.ca_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()), private=True)
        _write(self.ca_cert, cert.public_bytes(serialization.Encoding.PEM), private=False)

    def _issue(self, cert_path, key_path, common_name, san, usage, days, now):
        x509, hashes, serialization, ec, _, NameOID = _x509()
        with open(self.ca_key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(self.ca_cert, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        key = ec.generate_private_key(ec.SECP256R1())
        start = now or datetime.datetime.now(datetime.timezone.utc)
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
             .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start - datetime.timedelta(hours=1))
             .not_valid_after(min(start + datetime.timedelta(days=days), ca.not_valid_after_utc))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                          crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), private=True)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)


def client_context(ca_file=None, cert_file=None, key_file=None):
    """The gateway's TLS context for an mqtts:// broker: the broker's
    certificate is always verified, host name included — against `ca_file`
    (the site CA) or, without one, the system's CAs.  No option turns
    verification off."""
    try:
        ctx = ssl.create_default_context(cafile=ca_file)
        if cert_file:
            ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:
        raise CertError("cannot load the TLS files (mqtt.ca_file / cert_file / key_file): %s" % e)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
