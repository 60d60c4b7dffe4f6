"""Offline outbox on flash: no scan is lost while Wi-Fi or the broker is down,
and none is silently dropped when the flash budget is used up.

    ob = Outbox("/outbox")            # a directory; created if missing
    rid = ob.append(b'{"raw": ...}')  # durable when it returns, or OutboxFull
    for rid, data in ob.pending(16):  # oldest unacked first
        ...publish...
    ob.ack(rid)                       # everything <= rid delivered

Layout of the directory:

- ``0000000001.seg`` ...: segment files named by the id of their first record,
  append-only, rotated at ``segment_bytes``; a segment is deleted once every
  record in it is acked.
- ``ack``: 9 bytes, ``b"A"`` + acked id (u32 LE) + CRC32 of the first 5 bytes;
  rewritten as ``ack.tmp`` + rename, so it is always either the old or the new
  value.

Record (little endian), 11-byte header then the payload::

    0   u8   magic 0xF9 (never occurs in UTF-8/JSON text: resync anchor)
    1   u16  payload length
    3   u32  record id (monotonic, survives restarts)
    7   u32  CRC32 over bytes 1..6 and the payload

Recovery (on open, and after a failed write): every segment is scanned once,
streaming through a small buffer (O(bytes), no payload kept in RAM).  A bad
region followed by a valid record is corrupt: it is skipped (``corrupt``
counts it) and the scan resyncs on the next magic byte with a valid CRC.  Bad
bytes at the end of the last segment are a torn tail (power cut mid-write):
counted in ``torn`` and cut off (valid prefix copied to ``.tmp`` + rename, as
MicroPython files have no truncate), so appends continue on a clean file.

On LittleFS (the ESP32 ``vfs`` partition) ``flush()`` is ``lfs_file_sync``:
a record is either entirely there or not at all.  Each sync copies the
partially filled last block of the file (LittleFS is copy-on-write), so a
scan costs at most one block write plus a metadata commit, not a rewrite of
the whole segment.
"""

import binascii
import os
import struct

_MAGIC = 0xF9
_MAGIC_B = b"\xf9"
_FMT = "<BHII"
_HDR = 11
_ENOSPC = 28
_SEG = ".seg"
_TMP = ".tmp"
_ACK = "ack"


class OutboxFull(Exception):
    """The flash budget is used up; nothing was written.  Ack to free space."""


class _Seg:
    # One segment file: its key (first id when created), valid records
    # lo..hi (n of them, ids increasing), size in bytes, sealed when a
    # garbage tail could not be cut off (appends then go to a new segment).
    def __init__(self, key):
        self.key = key
        self.lo = 0
        self.hi = 0
        self.n = 0
        self.size = 0
        self.sealed = False


class Outbox:
    def __init__(self, path, segment_bytes=16384, max_bytes=262144, chunk=256):
        if segment_bytes < _HDR + 1 or max_bytes < segment_bytes:
            raise ValueError("outbox: need segment_bytes > 11 and max_bytes >= segment_bytes")
        if len(path) > 1:
            path = path.rstrip("/")
        self.path = path or "."
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.max_record = min(0xFFFF, segment_bytes - _HDR)
        self._hb = bytearray(_HDR)
        self._hmv = memoryview(self._hb)[1:7]
        self._buf = bytearray(chunk)
        self._mv = memoryview(self._buf)
        self._wf = None
        self._wkey = 0
        self._segs = []
        self._bad = []  # (segment key, offset) of known bad regions
        self._gaps = []  # [lo, hi] id ranges above the ack point that are missing
        self._hint = None  # (key, offset, id): records before offset have ids <= id
        self._acked = 0
        self._next = 1
        self._used = 0
        self.corrupt = 0
        self.torn = 0
        self.marker_lost = False
        if not self._exists(self.path):
            os.mkdir(self.path)
        self._recover()

    # -- public API --------------------------------------------------------

    def append(self, data):
        """Write one record durably and return its id; OutboxFull when the
        budget is reached (nothing written), ValueError when too large."""
        if isinstance(data, str):
            data = data.encode()
        n = len(data)
        if n > self.max_record:
            raise ValueError("outbox: record too large")
        need = _HDR + n
        if self._used + need > self.max_bytes:
            raise OutboxFull("outbox full")
        segs = self._segs
        seg = segs[-1] if segs else None
        if seg is None or seg.sealed or (seg.size and seg.size + need > self.segment_bytes):
            self._close_writer()
            seg = _Seg(self._next)
            segs.append(seg)
        rid = self._next
        hb = self._hb
        struct.pack_into(_FMT, hb, 0, _MAGIC, n, rid, 0)
        crc = binascii.crc32(data, binascii.crc32(self._hmv)) & 0xFFFFFFFF
        struct.pack_into("<I", hb, 7, crc)
        try:
            if self._wf is None:
                self._wf = open(self._seg_name(seg.key), "ab")
                self._wkey = seg.key
            self._wf.write(hb)
            self._wf.write(data)
            self._wf.flush()
        except OSError as e:
            # The file may now end in a partial record: rescan and cut it.
            self._close_writer()
            self._recover()
            if e.args and e.args[0] == _ENOSPC:
                raise OutboxFull("flash full")
            raise
        seg.size += need
        self._used += need
        if not seg.n:
            seg.lo = rid
        seg.hi = rid
        seg.n += 1
        self._next = rid + 1
        return rid

    def pending(self, limit=16, after=0):
        """Up to ``limit`` unacked records with ids above ``after``, oldest
        first, as a list of (id, bytes).  Never returns a record whose CRC
        does not match."""
        return self._pending(limit, True, after)

    def ack(self, upto_id):
        """Mark every record with id <= upto_id delivered (persisted before
        return) and delete segments that are entirely acked."""
        if upto_id <= self._acked:
            return
        if upto_id >= self._next:
            raise ValueError("outbox: ack beyond the last id")
        self._write_marker(upto_id)
        self._acked = upto_id
        self._clip_gaps()
        self._drop_acked()

    def depth(self):
        """Number of unacked records."""
        d = self._next - 1 - self._acked
        for g in self._gaps:
            d -= g[1] - g[0] + 1
        return d

    def bytes_used(self):
        """Bytes in segment files (the budget counted against max_bytes)."""
        return self._used

    def last_id(self):
        return self._next - 1

    def acked_id(self):
        return self._acked

    def stats(self):
        return {
            "depth": self.depth(),
            "bytes": self._used,
            "segments": len(self._segs),
            "last_id": self._next - 1,
            "acked": self._acked,
            "corrupt": self.corrupt,
            "torn": self.torn,
            "marker_lost": self.marker_lost,
        }

    def close(self):
        self._close_writer()

    # -- files ---------------------------------------------------------------

    def _seg_name(self, key):
        return self.path + "/" + ("%010d" % key) + _SEG

    def _exists(self, name):
        try:
            os.stat(name)
            return True
        except OSError:
            return False

    def _close_writer(self):
        f = self._wf
        if f is not None:
            self._wf = None
            f.close()

    def _replace(self, tmp, final):
        # rename over an existing file: atomic on LittleFS and POSIX; other
        # filesystems refuse, then remove first (recovery handles the gap).
        try:
            os.rename(tmp, final)
        except OSError:
            try:
                os.remove(final)
            except OSError:
                pass
            os.rename(tmp, final)

    def _marker_value(self, name):
        try:
            f = open(name, "rb")
        except OSError:
            return None
        try:
            b = f.read(16)
        finally:
            f.close()
        if len(b) != 9 or b[0] != 0x41:
            return None
        v, c = struct.unpack_from("<II", b, 1)
        if binascii.crc32(b[:5]) & 0xFFFFFFFF != c:
            return None
        return v

    def _write_marker(self, value):
        b = bytearray(9)
        b[0] = 0x41
        struct.pack_into("<I", b, 1, value)
        struct.pack_into("<I", b, 5, binascii.crc32(memoryview(b)[:5]) & 0xFFFFFFFF)
        final = self.path + "/" + _ACK
        tmp = final + _TMP
        f = open(tmp, "wb")
        try:
            f.write(b)
            f.flush()
        finally:
            f.close()
        self._replace(tmp, final)

    def _truncate(self, seg, length):
        # Cut a segment to its valid prefix: copy to .tmp and rename over.
        name = self._seg_name(seg.key)
        if length == 0:
            os.remove(name)
            return True
        tmp = name + _TMP
        try:
            src = open(name, "rb")
            try:
                dst = open(tmp, "wb")
                try:
                    left = length
                    mv = self._mv
                    while left:
                        k = src.readinto(mv[: min(left, len(mv))])
                        if not k:
                            raise OSError(5)
                        dst.write(mv[:k])
                        left -= k
                    dst.flush()
                finally:
                    dst.close()
            finally:
                src.close()
            self._replace(tmp, name)
            return True
        except OSError:
            try:
                os.remove(tmp)
            except OSError:
                pass
            return False

    # -- records -------------------------------------------------------------

    def _at(self, f, pos, size):
        # (id, end) when a valid record starts at pos, else None.  The CRC is
        # checked streaming through the small buffer, so a corrupt length
        # never makes us allocate it.
        if size - pos < _HDR:
            return None
        hb = self._hb
        f.seek(pos)
        if f.readinto(hb) != _HDR:
            return None
        m, n, rid, crc = struct.unpack_from(_FMT, hb, 0)
        end = pos + _HDR + n
        if m != _MAGIC or n > self.max_record or end > size:
            return None
        c = binascii.crc32(self._hmv)
        mv = self._mv
        cap = len(mv)
        left = n
        while left:
            k = f.readinto(mv[: min(left, cap)])
            if not k:
                return None
            c = binascii.crc32(mv[:k], c)
            left -= k
        if c & 0xFFFFFFFF != crc:
            return None
        return rid, end

    def _next_valid(self, f, pos, size):
        # First valid record at or after pos as (offset, id, end), or None
        # when only garbage is left.  Resync looks for the magic byte.
        r = self._at(f, pos, size)
        if r is not None:
            return pos, r[0], r[1]
        buf = self._buf
        p = pos + 1
        while p + _HDR <= size:
            f.seek(p)
            k = f.readinto(buf)
            if not k:
                return None
            i = buf.find(_MAGIC_B, 0, k)
            if i < 0:
                p += k
                continue
            q = p + i
            r = self._at(f, q, size)
            if r is not None:
                return q, r[0], r[1]
            p = q + 1
        return None

    # -- recovery --------------------------------------------------------------

    def _recover(self):
        self._close_writer()
        p = self.path + "/"
        names = os.listdir(self.path)
        # Leftovers of an interrupted replace: the final file still there
        # means the rename never happened; missing means the copy is complete.
        for name in names:
            if not name.endswith(_TMP):
                continue
            final = name[: -len(_TMP)]
            if final in names:
                os.remove(p + name)
            elif final == _ACK and self._marker_value(p + name) is None:
                os.remove(p + name)
            elif final == _ACK or final.endswith(_SEG):
                os.rename(p + name, p + final)
            else:
                os.remove(p + name)
        names = os.listdir(self.path)
        keys = []
        for name in names:
            if name.endswith(_SEG) and name[: -len(_SEG)].isdigit():
                keys.append(int(name[: -len(_SEG)]))
        keys.sort()
        marker = self._marker_value(p + _ACK)
        acked = marker if marker is not None else 0
        segs = []
        bad = []
        gaps = []
        corrupt = 0
        torn = 0
        top = 0
        first = 0
        last_i = len(keys) - 1
        for i in range(len(keys)):
            seg = _Seg(keys[i])
            name = self._seg_name(seg.key)
            size = os.stat(name)[6]
            pos = 0
            tail = False
            f = open(name, "rb")
            try:
                while pos < size:
                    r = self._next_valid(f, pos, size)
                    if r is None:
                        tail = True
                        break
                    q, rid, end = r
                    if q != pos:
                        corrupt += 1
                        bad.append((seg.key, pos))
                    pos = end
                    if rid <= top:
                        # a valid-looking record out of order (a record image
                        # inside a payload, seen after a resync): not ours.
                        corrupt += 1
                        continue
                    if not first:
                        first = rid
                    base = max(top, acked)
                    if rid > base + 1:
                        gaps.append([base + 1, rid - 1])
                    top = rid
                    if not seg.n:
                        seg.lo = rid
                    seg.hi = rid
                    seg.n += 1
            finally:
                f.close()
            if tail:
                if i == last_i:
                    torn += 1
                else:
                    corrupt += 1
            if not seg.n:
                # nothing valid in it (an empty new segment, or garbage only)
                os.remove(name)
                if bad:
                    bad = [b for b in bad if b[0] != seg.key]
                continue
            if tail:
                if i == last_i and self._truncate(seg, pos):
                    size = pos
                else:
                    seg.sealed = i == last_i
                    bad.append((seg.key, pos))
            seg.size = size
            segs.append(seg)
        if marker is None:
            if segs and first:
                self.marker_lost = True
                acked = first - 1
            self._write_marker(acked)
        self._segs = segs
        self._bad = bad
        self._gaps = gaps
        self._hint = None
        self._acked = acked
        self._next = max(top, acked) + 1
        self.corrupt = corrupt
        self.torn = torn
        self._clip_gaps()
        self._drop_acked()
        used = 0
        for seg in self._segs:
            used += seg.size
        self._used = used

    def _clip_gaps(self):
        a = self._acked
        g = self._gaps
        while g and g[0][1] <= a:
            g.pop(0)
        if g and g[0][0] <= a:
            g[0][0] = a + 1

    def _drop_acked(self):
        segs = self._segs
        a = self._acked
        while segs:
            seg = segs[0]
            if not seg.n or seg.hi > a:
                break
            if self._wf is not None and self._wkey == seg.key:
                self._close_writer()
            name = self._seg_name(seg.key)
            if self._exists(name):
                os.remove(name)
            segs.pop(0)
            self._used -= seg.size
            if self._bad:
                self._bad = [b for b in self._bad if b[0] != seg.key]
            if self._hint is not None and self._hint[0] == seg.key:
                self._hint = None

    # -- reading -------------------------------------------------------------

    def _pending(self, limit, retry, after=0):
        out = []
        floor = after if after > self._acked else self._acked
        if limit <= 0 or self._next - 1 <= floor:
            return out
        segs = self._segs
        start = 0
        pos = 0
        h = self._hint
        if h is not None and h[2] <= floor:
            for j in range(len(segs)):
                if segs[j].key == h[0]:
                    start = j
                    pos = h[1]
                    break
        fresh = False
        for j in range(start, len(segs)):
            seg = segs[j]
            if seg.n == 0 or seg.hi <= floor:
                pos = 0
                continue
            if self._wf is not None and self._wkey == seg.key:
                self._close_writer()  # one handle per file at a time
            size = seg.size
            f = open(self._seg_name(seg.key), "rb")
            try:
                while pos < size and len(out) < limit:
                    r = self._next_valid(f, pos, size)
                    if r is None:
                        if (seg.key, pos) not in self._bad:
                            fresh = True
                        break
                    q, rid, end = r
                    if q != pos and (seg.key, pos) not in self._bad:
                        fresh = True
                    pos = end
                    if rid <= floor:
                        continue
                    f.seek(q + _HDR)
                    data = f.read(end - q - _HDR)
                    out.append((rid, data))
                    floor = rid
                    self._hint = (seg.key, end, rid)
            finally:
                f.close()
            pos = 0
            if len(out) >= limit:
                break
        if fresh and retry:
            # corruption that appeared after open: rescan so that depth,
            # counters and bad-region list are right, then read again
            self._recover()
            return self._pending(limit, False, after)
        return out
