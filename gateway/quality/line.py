"""Checking every label on the line, as it leaves the printer.

Each image (the virtual printer's PNGs, a watched folder a camera writes
to) is graded and matched to its label: by the serial in the decoded data,
else as the oldest printed label of the job not yet checked (labels leave a
printer in print order).  The job's policy decides:

- pass: grade ≥ min_grade (default 1.5, GS1 healthcare), the data equals
  what was sent, the code engine finds it valid → the serial is verified;
- fail: the serial is marked failed, then voided (the label is not known to
  be destroyed, so its serial is never printed again) and the job prints one
  more label with a new serial;
- `stop_after` failures in a row (default 3) hold the job and raise an
  alert: something is wrong with the printer, not with one label.

Every result — grade, parameters, decoded data, the image path — is kept
in label_checks and is visible through the API."""

import logging
import os
import threading
import time

from sqlalchemy import insert, select, update

from gateway.printing.ledger import audit
from gateway.quality.grade import grade_image
from gateway.schema import alerts, label_checks, print_jobs, serials

log = logging.getLogger("udi_edge.quality")

DEFAULT_POLICY = {"min_grade": 1.5, "stop_after": 3}


def check_policy(policy):
    # -> the policy with defaults, or ValueError naming the key.
    p = dict(DEFAULT_POLICY, **(policy or {}))
    if not isinstance(p["min_grade"], (int, float)) or not 0 <= p["min_grade"] <= 4:
        raise ValueError("verify.min_grade must be 0.0-4.0, got %r" % (p["min_grade"],))
    if not isinstance(p["stop_after"], int) or isinstance(p["stop_after"], bool) or p["stop_after"] < 1:
        raise ValueError("verify.stop_after must be a whole number >= 1, got %r" % (p["stop_after"],))
    return p


class LineVerifier:
    def __init__(self, jobs, dpi=300, today=None, grader=grade_image):
        self.jobs = jobs
        self.engine = jobs.engine
        self.dpi = dpi
        self.today = today
        self.grader = grader
        self.failures_in_a_row = {}
        self.plans = {}
        self.lock = threading.Lock()

    def check(self, job_id, image, image_path=None):
        """Grade one label image of a job and apply the job's policy -> the stored check."""
        results = self.grader(image, dpi=self.dpi, today=self.today)
        best = max(results, key=lambda r: r["overall"]["grade"])
        return self._apply(job_id, best, image_path)

    def check_data(self, job_id, decoded, grade=None):
        """A fixed-mount scanner's report (decoded data, and its grade when the
        scanner grades): the same policy on what it can tell."""
        import udi_codes

        res = udi_codes.parse(decoded, "read", self.today) if decoded else None
        g = 4.0 if grade is None else float(grade)  # a scanner that does not grade: readability and data only
        best = {"decoded": decoded or None, "valid": bool(res and res["valid"]),
                "errors": [e["code"] for e in res["errors"]] if res else [],
                "overall": {"grade": g if decoded else 0.0, "notation": None if grade is None else "%.1f" % g},
                "parameters": None}
        return self._apply(job_id, best, None)

    def _apply(self, job_id, best, image_path):
        job = self.jobs.get(job_id)
        policy = check_policy(job.get("verify"))
        serial_row = self._label_for(job, best.get("decoded"))
        expected = self._expected(job, serial_row)
        match = expected is not None and best.get("decoded") == expected
        grade = best["overall"]["grade"]
        passed = bool(best.get("decoded")) and match and best.get("valid") and grade >= policy["min_grade"]
        reason = None if passed else self._why(best, match, grade, policy)
        with self.lock, self.engine.begin() as c:
            row = {"job_id": job_id, "serial_id": serial_row["id"] if serial_row else None, "decoded": best.get("decoded"),
                   "match": match, "valid": bool(best.get("valid")), "grade": grade,
                   "notation": best["overall"].get("notation"), "passed": passed, "reason": reason,
                   "parameters": best.get("parameters"), "image": image_path, "at": time.time()}
            row["id"] = c.execute(insert(label_checks).values(**row)).inserted_primary_key[0]
            if serial_row is not None:
                if passed:
                    self.jobs.ledger.mark([serial_row["id"]], "verified", c)
                else:
                    self.jobs.ledger.mark([serial_row["id"]], "failed", c)
                    self.jobs.ledger.void(serial_row["id"], "failed verification: %s" % reason, "line-verifier", c)
                    c.execute(update(print_jobs).where(print_jobs.c.id == job_id)
                              .values(rejected=print_jobs.c.rejected + 1, updated_at=time.time()))
            self._count(c, job_id, passed, policy, reason)
        return row

    def _count(self, c, job_id, passed, policy, reason):
        n = 0 if passed else self.failures_in_a_row.get(job_id, 0) + 1
        self.failures_in_a_row[job_id] = n
        if n >= policy["stop_after"]:
            why = "%d labels in a row failed verification (last: %s)" % (n, reason)
            c.execute(update(print_jobs).where(print_jobs.c.id == job_id, print_jobs.c.state == "running")
                      .values(state="held", reason=why, updated_at=time.time()))
            c.execute(insert(alerts).values(kind="print_quality", dev=None, item=None, di=None, detail="job %d: %s" % (job_id, why),
                                            created_at=time.time(), acknowledged=False))
            audit(c, job_id, None, "hold", "line-verifier", why)
            self.failures_in_a_row[job_id] = 0

    def _label_for(self, job, decoded, wait_s=3.0):
        """The label this image shows: the printed label whose data it is;
        else (unreadable, or data nobody sent) the oldest unchecked one.  A
        label the camera saw before the job counted it printed is waited
        for: its state must move in order (sent -> printed -> checked)."""
        deadline = time.monotonic() + wait_s
        while True:
            with self.engine.connect() as c:
                rows = [dict(r) for r in c.execute(select(serials).where(
                    serials.c.job_id == job["id"], serials.c.state.in_(("sent", "printed"))).order_by(serials.c.label_no)).mappings()]
            mine = next((r for r in rows if decoded and self._expected(job, r) == decoded), None)
            if mine is not None and mine["state"] == "printed":
                return mine
            if mine is None:
                printed = [r for r in rows if r["state"] == "printed"]
                if printed or time.monotonic() > deadline:
                    return printed[0] if printed else None
            if time.monotonic() > deadline:
                return mine if mine is not None and mine["state"] == "printed" else None
            time.sleep(0.05)

    def _expected(self, job, serial_row):
        # What the label should decode to: the template's encoded data for it.
        if serial_row is None:
            return None
        from gateway.printing import template_versions
        from gateway.printing.jobs import label_plan

        if job["id"] not in self.plans:  # the template and shared fields of a job do not change
            tpl = template_versions.for_job(self.engine, job)  # the version the job prints
            self.plans[job["id"]] = (tpl,) + label_plan(self.jobs._product(job["di"]), job, tpl)
        tpl, fields, unique = self.plans[job["id"]]
        fields = dict(fields)
        if unique is not None:
            value = serial_row["serial"]
            if unique[1] == "sscc":
                from udi_codes.checkchars import gs1_mod10

                body = (job.get("fields") or {}).get("sscc_prefix", "") + value
                value = body + str(gs1_mod10(body))
            fields[unique[0]] = value
        try:
            return tpl.encoded_data(fields, self.today)
        except Exception:  # noqa: BLE001 - the job was checked at creation; a template change since is a mismatch
            return None

    def _why(self, best, match, grade, policy):
        if not best.get("decoded"):
            return "no symbol could be decoded"
        if not match:
            return "data does not match what was sent"
        if not best.get("valid"):
            return "decoded data is not a valid code: %s" % ", ".join(best.get("errors") or [])
        return "grade %.1f below %.1f" % (grade, policy["min_grade"])


class FolderWatcher(threading.Thread):
    """Feeds a LineVerifier with the images a camera (or the virtual
    printer) writes into a folder, in name order, for one job."""

    def __init__(self, verifier, job_id, folder, pattern_ext=(".png", ".jpg", ".jpeg", ".tif", ".tiff"), poll_s=0.1):
        super().__init__(name="label-watch-%d" % job_id, daemon=True)
        self.verifier, self.job_id, self.folder = verifier, job_id, folder
        self.exts = pattern_ext
        self.poll_s = poll_s
        self.seen = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        self.stopping = threading.Event()
        self.results = []

    def run(self):
        from PIL import Image

        while not self.stopping.is_set():
            try:
                names = sorted(n for n in os.listdir(self.folder) if n.lower().endswith(self.exts) and n not in self.seen)
            except OSError:
                names = []
            for name in names:
                path = os.path.join(self.folder, name)
                self.seen.add(name)
                try:
                    with Image.open(path) as img:
                        img.load()
                        self.results.append(self.verifier.check(self.job_id, img, path))
                except Exception:  # noqa: BLE001 - one unreadable image must not stop the line's checks
                    log.exception("checking %s failed", path)
            self.stopping.wait(self.poll_s)

    def stop(self):
        self.stopping.set()
        self.join(5)


class ScannerFeed(threading.Thread):
    """Feeds a LineVerifier from a fixed-mount scanner at the printer exit
    that reports each read as a line of data over serial (pyserial URL:
    /dev/ttyUSB0, rfc2217://…, loop:// in tests).  A scanner sends scan
    data with its AIM identifier; GS may arrive as the byte 0x1D."""

    def __init__(self, verifier, job_id, url, baud=9600, terminator=b"\r"):
        super().__init__(name="label-scanner-%d" % job_id, daemon=True)
        import serial

        self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.1)
        self.verifier, self.job_id, self.terminator = verifier, job_id, terminator
        self.stopping = threading.Event()
        self.results = []

    def run(self):
        buf = b""
        while not self.stopping.is_set():
            try:
                buf += self.port.read(256)
            except Exception:  # noqa: BLE001 - a scanner unplugged: stop feeding, say so
                log.exception("label scanner lost")
                return
            while True:
                cut = min((i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0), default=-1)
                if cut < 0:
                    break
                line, buf = buf[:cut], buf[cut + 1:]
                if line.strip():
                    text = line.decode("utf-8", "replace")
                    try:
                        self.results.append(self.verifier.check_data(self.job_id, text))
                    except Exception:  # noqa: BLE001
                        log.exception("checking a scanner read failed")

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.port.close()


class CameraFeed(threading.Thread):
    """Feeds a LineVerifier from a camera at the printer exit (OpenCV
    capture: a device index, an RTSP/HTTP stream, or a video file).  A label
    is checked once, on the first frame whose symbol decodes to data not
    seen just before; frames with no symbol (the gap between labels) re-arm
    it.  A label that passes the camera unread cannot be told from a gap:
    the job's end-of-job wait then reports it unchecked."""

    def __init__(self, verifier, job_id, source=0, settle_frames=1):
        super().__init__(name="label-camera-%d" % job_id, daemon=True)
        import cv2

        self.cap = cv2.VideoCapture(source)
        if not self.cap.isOpened():
            raise OSError("camera %r cannot be opened" % (source,))
        self.verifier, self.job_id = verifier, job_id
        self.settle = settle_frames
        self.stopping = threading.Event()
        self.results = []

    def run(self):
        import zxingcpp

        last, seen = None, 0
        while not self.stopping.is_set():
            ok, frame = self.cap.read()
            if not ok:
                return  # the stream ended (a file) or the camera is gone
            gray = frame if frame.ndim == 2 else frame[..., 1]  # green channel: fast, close to luminance
            found = zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain)
            data = found[0].bytes if found else None
            if data is None:
                last, seen = None, 0
                continue
            if data == last:
                seen += 1
                if seen != self.settle:
                    continue
            else:
                last, seen = data, 0
                if self.settle:
                    continue
            try:
                self.results.append(self.verifier.check(self.job_id, frame[..., ::-1] if frame.ndim == 3 else frame))
            except Exception:  # noqa: BLE001 - one bad frame must not stop the line's checks
                log.exception("checking a camera frame failed")

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.cap.release()
