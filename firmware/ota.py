"""Signed over-the-air update of the application (.mpy files).

Flow (the app drives it; nothing here resets the device or touches hardware):

    up = Updater("/", "/ota", settings["ota_public_key"], fetch=None,  # None: http_fetch
                 tick=wdt.feed)         # called inside the long loops (verify, apply)
    up.on_boot()                        # early at every boot: counts trial boots, rolls back
    await up.download(url, size, battery_ok=ok, progress=cb)   # resumable
    up.verify()                         # signature, format, paths, sizes, SHA-256; extracts to staging
    up.apply(battery_ok=ok)             # renames into place, keeps a backup; then the app resets
    ...                                 # new code boots, connects, handles a scan or heartbeat:
    up.mark_healthy()                   # commit: drop the backup

Bundle (one file; built and signed by tools/ota_bundle.py; all integers big-endian):

    offset      size  field
    0           8     magic b"UDIOTA" + container version b"\\x00\\x01"
    8           4     M = manifest length (1..32768)
    12          2     S = signature length: 64 (Ed25519); 0 = unsigned (always refused)
    14          M     manifest, UTF-8 JSON (below)
    14+M        S     Ed25519 signature over exactly the M manifest bytes
    14+M+S      ...   the files' bytes, concatenated in manifest order, no padding
    total = 14 + M + S + sum(sizes); shorter is ota_truncated, longer ota_bad_format

    manifest = {"format": 1, "product": "udi-edge-handheld", "version": "1.4.0",
                "files": [{"path": "app.mpy", "size": 1234, "sha256": "<64 hex>"}, ...]}

The signature covers the manifest, the manifest's SHA-256 values bind every file.
Paths are relative with "/" separators: [A-Za-z0-9_.-] components, none empty or
starting with "."; no absolute paths, no "..", no "\\" or ":"; the OTA's own files
and `protected` names (config.json) are refused (ota_bad_path).  Versions are dotted
numbers; a bundle not newer than the installed version, or the version that was
last rolled back, is refused unless verify(force=True).

Flash layout: `staging_dir`/bundle.part (download in progress) + download.json
(its url and size: a resume only continues the same bundle), bundle.bin (complete),
new/... (verified, extracted files), verified.json; `backup_dir` (default
staging_dir + "_backup") holds the files an update replaced.  In `root`:
ota_version.json (installed version), ota_pending.json (the update on trial, with
its boot count), ota_result.json (last outcome, for the heartbeat/cmd result).

Power loss: the pending marker is written ("applying") before the first rename, so
an interrupted apply() is rolled back by the next on_boot(); every state file is
written to a .tmp and renamed; a rollback can itself be interrupted and redone.

Error codes (OtaError.code): ota_low_battery, ota_no_space, ota_bad_size,
ota_download_failed, ota_truncated, ota_no_bundle, ota_bad_format, ota_unsigned,
ota_no_key, ota_bad_signature, ota_bad_manifest, ota_bad_path, ota_not_newer,
ota_rolled_back_before, ota_hash_mismatch, ota_not_verified, ota_busy,
ota_apply_failed, ota_io_error; http_fetch: ota_bad_url, ota_http_<status>, ota_http_bad_response,
ota_http_short, ota_http_timeout.

Cost (unix VM, .mpy): Ed25519 verification ~10 ms for the RFC 8032 vectors and
~20 ms for the 2.7 KB manifest of a 22-file app bundle (pure-Python SHA-512,
~0.7 ms per 128-byte block); verify()+extraction of that 89 KB bundle ~30 ms.
Not measured on an ESP32 yet (long ints everywhere there: expect 100x or more).
RAM (unix VM, .mpy, 64-bit): this module ~19 KB; ed25519 + sha512 another ~10 KB,
imported only by verify().
"""

import binascii
import hashlib
import json
import os
import struct

try:
    import asyncio
except ImportError:  # older MicroPython
    import uasyncio as asyncio  # type: ignore[no-redef]  # the same API under its old name

try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time as _time

    # CPython stand-ins for time.ticks_*: plain millisecond counters
    def ticks_ms():
        return int(_time.monotonic() * 1000)  # type: ignore[attr-defined]

    def ticks_add(a, b):  # type: ignore[misc]
        return a + b

    def ticks_diff(a, b):  # type: ignore[no-redef]
        return a - b

MAGIC = b"UDIOTA\x00\x01"
HEADER_LEN = 14
SIG_LEN = 64
MANIFEST_FORMAT = 1
PRODUCT = "udi-edge-handheld"
MAX_MANIFEST = 32768
MAX_FILES = 256
MAX_PATH = 128
MAX_BUNDLE = 4 * 1024 * 1024

PENDING = "ota_pending.json"
VERSION = "ota_version.json"
RESULT = "ota_result.json"

_PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
_HEX = "0123456789abcdef"


class OtaError(Exception):
    def __init__(self, code, detail=""):
        super().__init__(code + (": " + detail if detail else ""))
        self.code = code
        self.detail = detail


# ---------------------------------------------------------------- helpers


def check_path(path):
    """True if `path` is an acceptable relative file path inside the app root."""
    if type(path) is not str or not path or len(path) > MAX_PATH:
        return False
    for part in path.split("/"):
        if not part or part[0] == ".":
            return False  # empty (leading "/", "//", trailing "/"), ".", "..", hidden
        for ch in part:
            if ch not in _PATH_CHARS:
                return False
    return True


def version_tuple(v):
    """(1, 4, 0) for "1.4.0"; None if not dotted decimal numbers."""
    if type(v) is not str or not v or len(v) > 32:
        return None
    out = []
    for part in v.split("."):
        if not part or len(part) > 9:
            return None
        for ch in part:
            if ch not in "0123456789":
                return None
        out.append(int(part))
    return tuple(out)


def _join(a, b):
    if not a:
        return b
    if a[-1] == "/":
        return a + b
    return a + "/" + b


def _stat(p):
    try:
        return os.stat(p)
    except OSError:
        return None


def _exists(p):
    return _stat(p) is not None


def _isdir(p):
    st = _stat(p)
    return st is not None and (st[0] & 0x4000) != 0


def _isfile(p):
    st = _stat(p)
    return st is not None and (st[0] & 0x4000) == 0


def _fsize(p):
    st = _stat(p)
    return -1 if st is None else st[6]


def _mkdirs(p):
    if not p or _isdir(p):
        return
    cur = "/" if p[0] == "/" else ""
    for part in p.split("/"):
        if not part:
            continue
        cur = cur + part if (not cur or cur[-1] == "/") else cur + "/" + part
        if not _isdir(cur):
            os.mkdir(cur)


def _parent(p):
    i = p.rfind("/")
    return p[:i] if i > 0 else ""


def _remove(p):
    try:
        os.remove(p)
    except OSError:
        pass


def _rmtree(p):
    st = _stat(p)
    if st is None:
        return
    if not (st[0] & 0x4000):
        os.remove(p)
        return
    for name in os.listdir(p):
        _rmtree(_join(p, name))
    os.rmdir(p)


def _rename(src, dst):
    try:
        os.rename(src, dst)
    except OSError:
        # FAT refuses to rename over an existing file (POSIX and littlefs replace it).
        if not _exists(dst):
            raise
        os.remove(dst)
        os.rename(src, dst)


def _read_json(p):
    try:
        with open(p) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def _write_json(p, obj):
    tmp = p + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(obj))
    _rename(tmp, p)


def _hex(b):
    return binascii.hexlify(b).decode()


def _key_bytes(key):
    if key is None:
        return None
    if type(key) is str:
        try:
            key = binascii.unhexlify(key.strip())
        except (ValueError, TypeError):
            return None
    key = bytes(key)
    return key if len(key) == 32 else None


# ---------------------------------------------------------------- default transport


def _split_url(url):
    if type(url) is not str or not url.startswith("http://"):
        raise OtaError("ota_bad_url", "only http:// is supported")
    rest = url[7:]
    i = rest.find("/")
    hostport, path = (rest, "/") if i < 0 else (rest[:i], rest[i:])
    port = 80
    j = hostport.rfind(":")
    if j >= 0:
        try:
            port = int(hostport[j + 1 :])
        except ValueError:
            raise OtaError("ota_bad_url", "port")
        hostport = hostport[:j]
    if not hostport:
        raise OtaError("ota_bad_url", "host")
    return hostport, port, path


def _recv(s, n, timeout, deadline):
    left = ticks_diff(deadline, ticks_ms())
    if left <= 0:
        raise OtaError("ota_http_timeout")
    s.settimeout(min(timeout, left / 1000))
    return s.recv(n)


def http_fetch(url, offset, length, timeout=2.0, deadline_s=6.0):
    """Bytes [offset, offset+length) of `url` by an HTTP/1.0 GET with a Range header.

    Blocking socket: `timeout` seconds for the connect and for any one receive, and
    `deadline_s` for the whole request (both below the 8 s watchdog; name lookup is
    not bounded, so give the gateway as an IP address).  Returns fewer bytes only
    when the resource ends there, b"" at or past its end (416); raises OtaError on a
    cut connection or an HTTP error.  Plain HTTP on the LAN: integrity comes from
    the bundle signature, not TLS.
    """
    import socket

    host, port, path = _split_url(url)
    deadline = ticks_add(ticks_ms(), int(deadline_s * 1000))
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(ai[-1])
        req = "GET %s HTTP/1.0\r\nHost: %s\r\nRange: bytes=%d-%d\r\nConnection: close\r\n\r\n" % (
            path,
            host,
            offset,
            offset + length - 1,
        )
        s.sendall(req.encode())
        buf = b""
        while True:
            i = buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if len(buf) > 4096:
                raise OtaError("ota_http_bad_response", "header too long")
            d = _recv(s, 512, timeout, deadline)
            if not d:
                raise OtaError("ota_http_bad_response", "closed in header")
            buf += d
        head = buf[:i].split(b"\r\n")
        body = buf[i + 4 :]
        try:
            status = int(head[0].split()[1])
        except (IndexError, ValueError):
            raise OtaError("ota_http_bad_response", "status line")
        if status == 416:
            return b""
        if status == 206:
            skip = 0
        elif status == 200:
            skip = offset  # the server ignored Range: the body starts at 0
        else:
            raise OtaError("ota_http_%d" % status)
        clen = -1
        for line in head[1:]:
            k = line.find(b":")
            if k < 0:
                continue
            name = line[:k].strip().lower()
            if name == b"content-length":
                try:
                    clen = int(line[k + 1 :].strip())
                except ValueError:
                    raise OtaError("ota_http_bad_response", "content-length")
            elif name == b"content-range" and status == 206:
                v = line[k + 1 :].strip()  # bytes a-b/n
                try:
                    start = int(v.split(b" ")[1].split(b"-")[0])
                except (IndexError, ValueError):
                    raise OtaError("ota_http_bad_response", "content-range")
                if start != offset:
                    raise OtaError("ota_http_bad_response", "range start")
        out = bytearray()
        seen = 0  # body bytes received
        while True:
            if body:
                seen += len(body)
                if skip:
                    if len(body) <= skip:
                        skip -= len(body)
                        body = b""
                    else:
                        body = body[skip:]
                        skip = 0
                if body:
                    out += body[: length - len(out)]
            if len(out) >= length or (clen >= 0 and seen >= clen):
                break
            body = _recv(s, 1024, timeout, deadline)
            if not body:
                if clen >= 0:
                    raise OtaError("ota_http_short", "%d of %d" % (seen, clen))
                break
        return bytes(out)
    finally:
        s.close()


# ---------------------------------------------------------------- updater


class Updater:
    def __init__(
        self,
        root,
        staging_dir,
        public_key,
        fetch=None,
        backup_dir=None,
        max_boots=3,
        chunk=4096,
        retries=3,
        backoff_s=1.0,
        progress=None,
        protected=("config.json",),
        tick=None,
    ):
        self.root = root
        self.staging = staging_dir
        self.backup = backup_dir or (staging_dir.rstrip("/") + "_backup")
        self.key = _key_bytes(public_key)
        self.fetch = fetch or http_fetch
        self.max_boots = max_boots
        self.chunk = chunk
        self.retries = retries
        self.backoff_s = backoff_s
        self.progress = progress
        self.tick = tick  # e.g. the watchdog's feed(): called inside long loops
        self.state = "idle"
        self.error = None
        self.done = 0
        self.total = 0
        # Names a bundle may not write: the OTA's own state and dirs, protected files.
        reserved = [PENDING, VERSION, RESULT, PENDING + ".tmp", VERSION + ".tmp", RESULT + ".tmp"]
        for name in protected:
            reserved.append(name)
        for d in (self.staging, self.backup):
            rel = self._rel(d)
            if rel:
                reserved.append(rel)
        self._reserved = tuple(reserved)

    # -------------------------------------------------------- small parts

    def _rel(self, d):
        # First component of `d` relative to root if it lies inside it, else None.
        if self.root in ("", "."):
            rest = None if d.startswith("/") else d
        else:
            r = self.root.rstrip("/") + "/"
            rest = d[len(r) :] if d.startswith(r) else None
        if rest and rest.startswith("./"):
            rest = rest[2:]
        rest = rest.strip("/") if rest else None
        return rest.split("/")[0] if rest else None

    def _s(self, name):
        return _join(self.staging, name)

    def _r(self, name):
        return _join(self.root, name)

    def _fail(self, code, detail=""):
        self.state = "error"
        self.error = code
        return OtaError(code, detail)

    def _tick(self):
        if self.tick is not None:
            self.tick()

    def _mv(self, src, dst):
        # One rename; a method so tests can simulate power loss in the middle of apply().
        _rename(src, dst)

    def _check_space(self, need):
        try:
            st = os.statvfs(self.root or "/")
        except (OSError, AttributeError):
            return
        free = st[1] * st[4]
        if free < need:
            raise self._fail("ota_no_space", "%d free, %d needed" % (free, need))

    def current_version(self):
        v = _read_json(self._r(VERSION))
        return v.get("version") if type(v) is dict else None

    def last_result(self):
        return _read_json(self._r(RESULT))

    def pending(self):
        return _read_json(self._r(PENDING))

    def status(self):
        p = self.pending()
        return {
            "state": self.state,
            "error": self.error,
            "version": self.current_version(),
            "pending": p.get("version") if type(p) is dict else None,
            "boots": p.get("boots") if type(p) is dict else None,
            "done": self.done,
            "total": self.total,
        }

    def clear_staging(self):
        """Forget any download or verified files (keeps the backup and markers)."""
        _rmtree(self.staging)
        self.done = 0
        self.total = 0

    # -------------------------------------------------------- download

    async def download(self, url, size, battery_ok=True, progress=None):
        """Stream `size` bytes of the bundle at `url` to staging; resumes a partial
        download of the same url and size.  Returns the bundle's path."""
        progress = progress or self.progress
        if not battery_ok:
            raise self._fail("ota_low_battery")
        if type(size) is not int or size <= HEADER_LEN or size > MAX_BUNDLE:
            raise self._fail("ota_bad_size", str(size))
        _mkdirs(self.staging)
        part = self._s("bundle.part")
        done_path = self._s("bundle.bin")
        info = self._s("download.json")
        want = {"url": url, "size": size}
        if _read_json(info) != want:
            # A different bundle: drop everything staged for the old one.
            self.clear_staging()
            _mkdirs(self.staging)
            _write_json(info, want)
        elif _fsize(done_path) == size:
            self.state = "downloaded"
            self.done = self.total = size
            if progress:
                progress(size, size)
            return done_path
        done = _fsize(part)
        if done < 0 or done > size:
            _remove(part)
            done = 0
        # Room for the bundle and its extracted copy.
        self._check_space(2 * size - done + 8192)
        self.state = "downloading"
        self.error = None
        self.done = done
        self.total = size
        fails = 0
        f = open(part, "ab")
        try:
            while done < size:
                n = size - done
                if n > self.chunk:
                    n = self.chunk
                try:
                    data = self.fetch(url, done, n)
                    if hasattr(data, "send"):  # an async fetch (e.g. MQTT chunks)
                        data = await data
                except Exception as e:  # noqa: BLE001 - transport failures are retried
                    fails += 1
                    final = isinstance(e, OtaError) and (e.code == "ota_bad_url" or e.code.startswith("ota_http_4"))
                    if final or fails > self.retries:
                        raise self._fail("ota_download_failed", "at %d of %d: %s" % (done, size, e))
                    await asyncio.sleep(self.backoff_s * fails)
                    continue
                if not data:
                    raise self._fail("ota_truncated", "source ended at %d of %d" % (done, size))
                if len(data) > n:
                    data = data[:n]
                f.write(data)
                f.flush()
                done += len(data)
                self.done = done
                fails = 0
                if progress:
                    progress(done, size)
                await asyncio.sleep(0)
        finally:
            f.close()
        _rename(part, done_path)
        self.state = "downloaded"
        return done_path

    # -------------------------------------------------------- verify

    def _parse_manifest(self, raw):
        try:
            man = json.loads(raw.decode())
        except (ValueError, UnicodeError):
            raise self._fail("ota_bad_manifest", "not JSON")
        if type(man) is not dict:
            raise self._fail("ota_bad_manifest", "not an object")
        if man.get("format") != MANIFEST_FORMAT:
            raise self._fail("ota_bad_manifest", "format %s" % man.get("format"))
        if man.get("product") != PRODUCT:
            raise self._fail("ota_bad_manifest", "product %s" % man.get("product"))
        if version_tuple(man.get("version")) is None:
            raise self._fail("ota_bad_manifest", "version")
        files = man.get("files")
        if type(files) is not list or not files or len(files) > MAX_FILES:
            raise self._fail("ota_bad_manifest", "files")
        seen = {}
        for ent in files:
            if type(ent) is not dict:
                raise self._fail("ota_bad_manifest", "file entry")
            path = ent.get("path")
            size = ent.get("size")
            digest = ent.get("sha256")
            if type(path) is not str:
                raise self._fail("ota_bad_manifest", "path")
            if not check_path(path) or path.split("/")[0] in self._reserved:
                raise self._fail("ota_bad_path", path)
            if path in seen:
                raise self._fail("ota_bad_manifest", "duplicate " + path)
            seen[path] = 1
            if type(size) is not int or size < 0 or size > MAX_BUNDLE:
                raise self._fail("ota_bad_manifest", "size of " + path)
            if type(digest) is not str or len(digest) != 64:
                raise self._fail("ota_bad_manifest", "sha256 of " + path)
            for ch in digest:
                if ch not in _HEX:
                    raise self._fail("ota_bad_manifest", "sha256 of " + path)
        for path in seen:  # "a" and "a/b" cannot both be files
            i = path.find("/")
            while i > 0:
                if path[:i] in seen:
                    raise self._fail("ota_bad_path", path)
                i = path.find("/", i + 1)
        return man

    def verify(self, force=False):
        """Check the downloaded bundle and extract its files to staging.
        Returns the manifest.  On any failure the bundle is deleted."""
        bundle = self._s("bundle.bin")
        if not _isfile(bundle):
            raise self._fail("ota_no_bundle")
        _rmtree(self._s("new"))
        _remove(self._s("verified.json"))
        try:
            man = self._verify(bundle, force)
        except OtaError:
            _rmtree(self._s("new"))
            _remove(bundle)
            _remove(self._s("download.json"))
            raise
        except OSError as e:
            _rmtree(self._s("new"))
            raise self._fail("ota_no_space" if e.args and e.args[0] == 28 else "ota_io_error", str(e))
        _write_json(self._s("verified.json"), man)
        _remove(bundle)  # flash is small: the extracted files are all we need now
        self.state = "verified"
        return man

    def _verify(self, bundle, force):
        if self.key is None:
            raise self._fail("ota_no_key")
        total = _fsize(bundle)
        with open(bundle, "rb") as f:
            head = f.read(HEADER_LEN)
            if head[:6] != MAGIC[:6] and len(head) >= 6:
                raise self._fail("ota_bad_format", "magic")
            if len(head) < HEADER_LEN:
                raise self._fail("ota_truncated", "header")
            if head[:8] != MAGIC:
                raise self._fail("ota_bad_format", "container version")
            mlen, slen = struct.unpack(">IH", head[8:14])
            if mlen == 0 or mlen > MAX_MANIFEST:
                raise self._fail("ota_bad_manifest", "length %d" % mlen)
            if slen == 0:
                raise self._fail("ota_unsigned")
            if slen != SIG_LEN:
                raise self._fail("ota_bad_format", "signature length %d" % slen)
            if total < HEADER_LEN + mlen + slen:
                raise self._fail("ota_truncated", "manifest")
            raw = f.read(mlen)
            sig = f.read(slen)
            import ed25519  # here, not at the top: on_boot() should not pay for it

            if not ed25519.verify(self.key, raw, sig, self.tick):
                raise self._fail("ota_bad_signature")
            man = self._parse_manifest(raw)
            files = man["files"]
            need = HEADER_LEN + mlen + slen
            for ent in files:
                need += ent["size"]
            if total < need:
                raise self._fail("ota_truncated", "%d of %d bytes" % (total, need))
            if total > need:
                raise self._fail("ota_bad_format", "%d bytes after the last file" % (total - need))
            if not force:
                new = version_tuple(man["version"])
                cur = version_tuple(self.current_version())
                if cur is not None and new <= cur:
                    raise self._fail("ota_not_newer", "%s <= %s" % (man["version"], self.current_version()))
                last = self.last_result()
                if type(last) is dict and last.get("result") == "rolled_back" and last.get("version") == man["version"]:
                    raise self._fail("ota_rolled_back_before", man["version"])
            self._check_space(need - HEADER_LEN - mlen - slen + 4096)
            buf = bytearray(self.chunk)
            mv = memoryview(buf)
            new_dir = self._s("new")
            for ent in files:
                path = ent["path"]
                dst = _join(new_dir, path)
                _mkdirs(_parent(dst))
                h = hashlib.sha256()
                left = ent["size"]
                with open(dst, "wb") as out:
                    while left > 0:
                        self._tick()
                        n = f.readinto(mv[: left if left < len(buf) else len(buf)])
                        if not n:
                            raise self._fail("ota_truncated", path)
                        h.update(mv[:n])
                        out.write(mv[:n])
                        left -= n
                if _hex(h.digest()) != ent["sha256"]:
                    raise self._fail("ota_hash_mismatch", path)
        return man

    def _staged_ok(self, man):
        buf = bytearray(self.chunk)
        mv = memoryview(buf)
        for ent in man["files"]:
            p = _join(self._s("new"), ent["path"])
            if _fsize(p) != ent["size"]:
                return ent["path"]
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while True:
                    self._tick()
                    n = f.readinto(mv)
                    if not n:
                        break
                    h.update(mv[:n])
            if _hex(h.digest()) != ent["sha256"]:
                return ent["path"]
        return None

    # -------------------------------------------------------- apply / boot / commit

    def apply(self, battery_ok=True):
        """Swap the verified files into root (old ones to the backup dir) and mark
        the update pending.  Returns the new version; the caller then resets."""
        if not battery_ok:
            raise self._fail("ota_low_battery")
        man = _read_json(self._s("verified.json"))
        if type(man) is not dict or type(man.get("files")) is not list:
            raise self._fail("ota_not_verified")
        if _exists(self._r(PENDING)):
            raise self._fail("ota_busy", "an update is on trial: mark_healthy() or roll back first")
        bad = self._staged_ok(man)
        if bad is not None:
            self.clear_staging()
            raise self._fail("ota_hash_mismatch", "staged " + bad)
        paths = [ent["path"] for ent in man["files"]]
        replaced = [p for p in paths if _isfile(self._r(p))]
        _rmtree(self.backup)
        pend = {
            "state": "applying",
            "version": man["version"],
            "prev": self.current_version(),
            "files": paths,
            "replaced": replaced,
            "boots": 0,
        }
        try:
            _write_json(self._r(PENDING), pend)
        except OSError as e:
            _remove(self._r(PENDING))
            raise self._fail("ota_apply_failed", str(e))
        try:
            new_dir = self._s("new")
            for p in paths:
                self._tick()
                dst = self._r(p)
                if p in replaced:
                    bak = _join(self.backup, p)
                    _mkdirs(_parent(bak))
                    self._mv(dst, bak)
                _mkdirs(_parent(dst))
                self._mv(_join(new_dir, p), dst)
            _write_json(self._r(VERSION), {"version": man["version"]})
            pend["state"] = "pending"
            _write_json(self._r(PENDING), pend)
        except OSError as e:
            self._rollback(pend, "apply failed: %s" % e)
            raise self._fail("ota_apply_failed", str(e))
        self.clear_staging()
        self.state = "applied"
        return man["version"]

    def _rollback(self, pend, reason):
        replaced = pend.get("replaced") or []
        for p in pend.get("files") or []:
            if not check_path(p):
                continue
            dst = self._r(p)
            bak = _join(self.backup, p)
            if _isfile(bak):
                _mkdirs(_parent(dst))
                _rename(bak, dst)
            elif p not in replaced:
                _remove(dst)  # a file the update added
            # else: the old file was never moved away; it is still in place
        prev = pend.get("prev")
        if prev:
            _write_json(self._r(VERSION), {"version": prev})
        else:
            _remove(self._r(VERSION))
        _write_json(self._r(RESULT), {"result": "rolled_back", "version": pend.get("version"), "reason": reason})
        _remove(self._r(PENDING))
        _rmtree(self.backup)
        _rmtree(self._s("new"))
        _remove(self._s("verified.json"))

    def on_boot(self):
        """Call early at every boot.  Returns "ok" (nothing pending), "trial" (the
        new version gets this boot), "rolled_back" or "error" (unreadable marker)."""
        path = self._r(PENDING)
        if not _exists(path):
            if _exists(self.backup):
                _rmtree(self.backup)  # a commit interrupted after the marker went
            return "ok"
        pend = _read_json(path)
        if type(pend) is not dict:
            _remove(path)
            _write_json(self._r(RESULT), {"result": "error", "reason": "unreadable pending marker"})
            return "error"
        if pend.get("state") != "pending":
            self._rollback(pend, "interrupted apply")
            return "rolled_back"
        boots = (pend.get("boots") or 0) + 1
        if boots > self.max_boots:
            self._rollback(pend, "not healthy after %d boots" % (boots - 1))
            return "rolled_back"
        pend["boots"] = boots
        _write_json(path, pend)
        return "trial"

    def mark_healthy(self):
        """Commit the update on trial (after the gateway connection and a scan or
        heartbeat worked).  Returns True if there was one."""
        pend = self.pending()
        if type(pend) is not dict or pend.get("state") != "pending":
            return False
        _remove(self._r(PENDING))
        _rmtree(self.backup)
        _write_json(self._r(RESULT), {"result": "ok", "version": pend.get("version")})
        self.state = "idle"
        return True
