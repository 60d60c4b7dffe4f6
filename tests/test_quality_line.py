"""Every label checked on the line: a job on the virtual printer, whose
PNGs are graded as they appear; labels with an injected print defect fail,
exactly those are voided and printed again with new serials, the ledger and
the printer's counter agree; three failures in a row hold the job."""

import os
import time

import pytest
from sqlalchemy import insert, select

from gateway.printing.jobs import PrintJobs
from gateway.quality.line import FolderWatcher, LineVerifier
from gateway.schema import alerts, label_checks, products, serials
from gateway.sim.printer import VirtualPrinter
from gateway.store import Store

pytest.importorskip("zxingcpp")
pytest.importorskip("zplkit")

TODAY = "2026-11-22"
GTIN = "06901234567892"
CASE = "16901234567899"
FADED = {"darkness": 0.12}  # a ribbon running dry: bars a pale grey


@pytest.fixture
def line(tmp_path):
    store = Store("sqlite:///" + str(tmp_path / "q.sqlite"))
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=CASE, primary_di=GTIN, name="一次性使用无菌注射器", contains_di=GTIN,
                                          contains_qty=10, level="箱", source="udid", updated_at=0))
    png_dir = str(tmp_path / "labels")
    os.makedirs(png_dir)
    printer = VirtualPrinter(port=0, dpi=300, ips=14.0, png_dir=png_dir, degrade=FADED).start()
    jobs = PrintJobs(store.engine, poll_s=0.05, today=TODAY)
    jobs.add_printer("line1", printer.uri, 300, 14)
    verifier = LineVerifier(jobs, dpi=300, today=TODAY)
    yield jobs, printer, verifier, png_dir
    printer.stop()


def run_job(jobs, printer, verifier, png_dir, quantity, defective, timeout=120):
    printer.degrade_labels = set(defective)
    job = jobs.create(CASE, "case-sscc", "line1", quantity, fields={"sscc_prefix": "06901234"},
                      verify={"min_grade": 1.5, "stop_after": 3})
    watcher = FolderWatcher(verifier, job["id"], png_dir, poll_s=0.05)
    watcher.start()
    try:
        jobs.start(job["id"])
        deadline = time.monotonic() + timeout
        while jobs.get(job["id"])["state"] not in ("done", "held", "failed"):
            assert time.monotonic() < deadline, jobs.get(job["id"])
            time.sleep(0.05)
    finally:
        watcher.stop()
    return jobs.get(job["id"])


def test_defective_labels_are_rejected_and_replaced(line):
    jobs, printer, verifier, png_dir = line
    job = run_job(jobs, printer, verifier, png_dir, 6, defective={2, 5})
    assert job["state"] == "done", job["reason"]
    with jobs.engine.connect() as c:
        rows = [dict(r) for r in c.execute(select(serials).where(serials.c.job_id == job["id"]).order_by(serials.c.label_no)).mappings()]
        checks = [dict(r) for r in c.execute(select(label_checks).where(label_checks.c.job_id == job["id"]).order_by(label_checks.c.id)).mappings()]
    # the 2nd and 5th labels out of the printer failed, and only they
    assert [ch["passed"] for ch in checks] == [True, False, True, True, False, True, True, True]
    failed_ids = {ch["serial_id"] for ch in checks if not ch["passed"]}
    assert {r["id"] for r in rows if r["state"] == "voided"} == failed_ids
    assert [r["state"] for r in rows].count("verified") == 6
    assert job["rejected"] == 2 and printer.total_labels == 8
    rec = job["reconciliation"]
    assert rec["agrees"] and rec["good_labels"] == 6 and rec["printer_counter"] == 8
    assert all(ch["grade"] >= 1.5 for ch in checks if ch["passed"])


def test_three_failures_in_a_row_hold_the_job_and_alert(line):
    jobs, printer, verifier, png_dir = line
    job = run_job(jobs, printer, verifier, png_dir, 10, defective=range(1, 100))
    assert job["state"] == "held" and "in a row failed verification" in job["reason"]
    with jobs.engine.connect() as c:
        kinds = [r["kind"] for r in c.execute(select(alerts)).mappings()]
    assert kinds == ["print_quality"]


def test_a_fixed_scanner_on_serial_checks_data(tmp_path):
    # A scanner at the printer exit reports what it read: the second label
    # reads as someone else's SSCC -> that label is rejected and replaced.
    pytest.importorskip("serial")
    from gateway.quality.line import ScannerFeed

    store = Store("sqlite:///" + str(tmp_path / "s.sqlite"))
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=CASE, primary_di=GTIN, name="注射器", contains_di=GTIN,
                                          contains_qty=10, level="箱", source="udid", updated_at=0))
    printer = VirtualPrinter(port=0, dpi=300, ips=14.0, label_length_in=0.5).start()
    try:
        jobs = PrintJobs(store.engine, poll_s=0.05, today=TODAY)
        jobs.add_printer("line1", printer.uri, 300, 14)
        verifier = LineVerifier(jobs, dpi=300, today=TODAY)
        job = jobs.create(CASE, "case-sscc", "line1", 3, fields={"sscc_prefix": "06901234"}, verify={"stop_after": 3})
        feed = ScannerFeed(verifier, job["id"], "loop://")
        feed.start()
        jobs.start(job["id"])
        printer.wait_printed(3, 30)
        from gateway.printing import templates as T

        tpl = T.load("case-sscc")
        for n, ref in enumerate(("000000001", "000000099", "000000003")):
            body = "06901234" + ref
            from udi_codes.checkchars import gs1_mod10

            sscc = body + str(gs1_mod10(body))
            data = tpl.encoded_data({"sscc": sscc, "content": GTIN, "count": 10, "product_name": "注射器"}, TODAY)
            feed.port.write(data.encode() + b"\r")
        deadline = time.monotonic() + 30
        while len(feed.results) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(r["passed"], r["reason"]) for r in feed.results] == [
            (True, None), (False, "data does not match what was sent"), (True, None)]
        feed.stop()
        with store.engine.connect() as c:
            states = [r[0] for r in c.execute(select(serials.c.state).where(serials.c.job_id == job["id"]).order_by(serials.c.label_no))]
        assert states[:3] == ["verified", "voided", "verified"]
    finally:
        printer.stop()


def test_a_camera_stream_checks_each_label_once(line, tmp_path):
    # The virtual printer's labels as a camera at the printer exit would
    # film them: each label for a few frames, a gap between labels; one
    # label faded.  Read through OpenCV's real capture from a video file.
    cv2 = pytest.importorskip("cv2")
    import numpy as np
    from PIL import Image

    from gateway.quality.line import CameraFeed

    jobs, printer, verifier, png_dir = line
    printer.degrade_labels = {2}
    job = jobs.create(CASE, "case-sscc", "line1", 3, fields={"sscc_prefix": "06901234"}, verify={"stop_after": 3})
    jobs.start(job["id"])
    printer.wait_printed(3, 60)
    frames = [np.asarray(Image.open(p["png"]).convert("RGB"))[..., ::-1] for p in printer.printed]
    h, w = frames[0].shape[:2]
    video = str(tmp_path / "exit.avi")
    out = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    blank = np.full((h, w, 3), 90, np.uint8)
    for f in frames:
        for _ in range(4):
            out.write(np.ascontiguousarray(f))
        for _ in range(2):
            out.write(blank)
    out.release()
    feed = CameraFeed(verifier, job["id"], video)
    feed.run()  # a file: read to its end, in this thread
    assert [r["passed"] for r in feed.results] == [True, False, True]
