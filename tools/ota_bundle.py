"""Build and sign OTA bundles for the handhelds (CPython; needs `cryptography`).

    python tools/ota_bundle.py keygen ~/.config/udi-edge/ota_key.pem
        writes the private key (PKCS#8 PEM, mode 0600) and KEY.pub (public key hex),
        prints the public key hex for the device settings (`ota_public_key`)
    UDI_OTA_PRIVATE_KEY_FILE=~/.config/udi-edge/ota_key.pem \\
        python tools/ota_bundle.py build BUILD_DIR out.udiota --version 1.4.0
        bundles every file under BUILD_DIR (e.g. the output of tools/build_firmware.py)
        except config.json and --exclude paths, sorted by path, and signs the manifest
    UDI_OTA_PRIVATE_KEY_FILE=... python tools/ota_bundle.py pubkey
    python tools/ota_bundle.py inspect out.udiota [--public-key HEX]

The private key file holds a PEM Ed25519 key or the raw 32-byte seed as 64 hex
digits (or 32 raw bytes).  It must live outside the repository; nothing here ever
prints or logs it.  The container format is documented in firmware/ota.py.
"""

import argparse
import hashlib
import json
import os
import stat
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_firmware_ota():
    # The device's own path rules and constants, loaded by file name so that the
    # firmware directory does not go onto sys.path (its module names are generic).
    import importlib.util

    spec = importlib.util.spec_from_file_location("udi_firmware_ota", os.path.join(ROOT, "firmware", "ota.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ota = _load_firmware_ota()

KEY_ENV = "UDI_OTA_PRIVATE_KEY_FILE"


class BundleError(Exception):
    pass


def _crypto():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def _inside_repo(path):
    real = os.path.realpath(path)
    return real == ROOT or real.startswith(ROOT + os.sep)


def load_private_key(path):
    serialization, ed25519 = _crypto()
    if not path:
        raise BundleError("set %s to the private key file (kept outside the repository)" % KEY_ENV)
    if _inside_repo(path):
        raise BundleError("the private key file must not live inside the repository")
    try:
        mode = os.stat(path).st_mode
        data = open(path, "rb").read()
    except OSError as e:
        raise BundleError("cannot read the private key file: %s" % e.strerror)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print("warning: the private key file is readable by others (chmod 600)", file=sys.stderr)
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise BundleError("the private key file is not a readable unencrypted PEM key")
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise BundleError("the private key is not an Ed25519 key")
        return key
    text = data.strip()
    if len(text) == 64:
        try:
            return ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text.decode("ascii")))
        except (ValueError, UnicodeDecodeError):
            pass
    if len(data) == 32:
        return ed25519.Ed25519PrivateKey.from_private_bytes(data)
    raise BundleError("the private key file holds neither a PEM key nor a 32-byte seed (64 hex digits)")


def public_hex(key):
    serialization, _ = _crypto()
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def keygen(path, force=False):
    serialization, ed25519 = _crypto()
    if _inside_repo(path):
        raise BundleError("write the private key outside the repository")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if force and os.path.exists(path):
        os.remove(path)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise BundleError("%s exists (use --force to replace it)" % path)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)
    pub = public_hex(key)
    with open(path + ".pub", "w") as f:
        f.write(pub + "\n")
    return pub


# The device's own settings (tools/build_firmware.py ships a default config.json
# for first flashing); an update never replaces them, and the device refuses them.
DEFAULT_EXCLUDE = ("config.json",)


def collect(src_dir, exclude=DEFAULT_EXCLUDE):
    """[(relative path, bytes)] of every file under src_dir, sorted; hidden entries,
    __pycache__ and `exclude` (relative paths) are skipped, paths the device would
    refuse are an error."""
    out = []
    for dirpath, dirnames, filenames in os.walk(src_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in filenames:
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, src_dir).replace(os.sep, "/")
            if rel in exclude:
                continue
            if not ota.check_path(rel):
                raise BundleError("path not allowed on the device: %s" % rel)
            with open(full, "rb") as f:
                out.append((rel, f.read()))
    out.sort()
    if not out:
        raise BundleError("no files under %s" % src_dir)
    return out


def manifest_bytes(files, version, product=ota.PRODUCT, fmt=ota.MANIFEST_FORMAT):
    if ota.version_tuple(version) is None:
        raise BundleError("version must be dotted numbers, e.g. 1.4.0")
    man = {
        "format": fmt,
        "product": product,
        "version": version,
        "files": [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in files],
    }
    return json.dumps(man, sort_keys=True, separators=(",", ":")).encode()


def pack(manifest, signature, blobs):
    """The container: header, manifest, signature (b"" = unsigned), file bytes."""
    head = ota.MAGIC + struct.pack(">IH", len(manifest), len(signature))
    return head + manifest + signature + b"".join(blobs)


def build(src_dir, out_path, version, key, exclude=DEFAULT_EXCLUDE):
    files = collect(src_dir, exclude)
    man = manifest_bytes(files, version)
    data = pack(man, key.sign(man), [b for _, b in files])
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)
    return {"path": out_path, "size": len(data), "version": version, "files": len(files)}


def inspect(path, public_key_hex=None):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != ota.MAGIC:
        raise BundleError("not a bundle (magic)")
    mlen, slen = struct.unpack(">IH", data[8:14])
    man_raw = data[14 : 14 + mlen]
    sig = data[14 + mlen : 14 + mlen + slen]
    man = json.loads(man_raw)
    info = {"size": len(data), "signed": slen == 64, "manifest": man}
    if public_key_hex:
        from cryptography.exceptions import InvalidSignature

        _, ed25519 = _crypto()
        pub = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        try:
            pub.verify(sig, man_raw)
            ok = True
        except InvalidSignature:
            ok = False
        off = 14 + mlen + slen
        hashes_ok = True
        for ent in man["files"]:
            blob = data[off : off + ent["size"]]
            off += ent["size"]
            hashes_ok = hashes_ok and len(blob) == ent["size"] and hashlib.sha256(blob).hexdigest() == ent["sha256"]
        info["signature_ok"] = ok
        info["hashes_ok"] = hashes_ok and off == len(data)
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen", help="new Ed25519 keypair; prints the public key hex")
    k.add_argument("path", help="private key file to create (outside the repository)")
    k.add_argument("--force", action="store_true")
    b = sub.add_parser("build", help="bundle and sign a directory (key from $%s)" % KEY_ENV)
    b.add_argument("src_dir")
    b.add_argument("out")
    b.add_argument("--version", required=True)
    b.add_argument("--exclude", action="append", default=[], help="relative path to leave out (config.json always is)")
    sub.add_parser("pubkey", help="public key hex of $%s" % KEY_ENV)
    i = sub.add_parser("inspect", help="print a bundle's manifest; check it with --public-key")
    i.add_argument("bundle")
    i.add_argument("--public-key")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "keygen":
            print(keygen(a.path, a.force))
        elif a.cmd == "build":
            key = load_private_key(os.environ.get(KEY_ENV))
            excl = DEFAULT_EXCLUDE + tuple(a.exclude)
            print(json.dumps(build(a.src_dir, a.out, a.version, key, excl)))
        elif a.cmd == "pubkey":
            print(public_hex(load_private_key(os.environ.get(KEY_ENV))))
        else:
            info = inspect(a.bundle, a.public_key)
            print(json.dumps(info, indent=2))
            if a.public_key and not (info["signature_ok"] and info["hashes_ok"]):
                return 1
    except BundleError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
