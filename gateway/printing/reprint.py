"""Void one label, or print one label again, on a print job that has ended —
the operator's "this label is bad" at the end of a run.

The ledger decides which serial a reprint uses (Ledger.reprint: the same
serial only when the bad label is confirmed destroyed, else the old one is
voided and a new one allocated).  This module prints that label and makes it
count: the printer's label counter (SGD odometer.total_label_count) is read
before and after, the serial is marked printed only when the counter moved,
and the job keeps a tally (counts["reprints"]: sent, printed, counted) that
the reconciliation adds to the one taken at the end of the job.

Only ended jobs (done, cancelled, failed): while a job runs, its runner
marks printed labels by counting the printer's counter against the labels
it sent, in order; a label voided or printed in between would be taken for
one of the job's.  For the same reason a reprint is refused while another
job runs on the printer, and two reprints on one printer never overlap."""

import threading
import time

from sqlalchemy import func, select, update

from gateway.printing import status as S
from gateway.printing import template_versions
from gateway.printing import templates as T
from gateway.printing.jobs import FINAL, good_labels, label_plan
from gateway.printing.ledger import LedgerError, audit
from gateway.printing.transports import PrinterError
from gateway.schema import print_audit, print_jobs, serials
from udi_codes.checkchars import gs1_mod10

BUSY = ("running", "paused", "held", "cancelling")  # a job in these states may print on its printer
COUNTER_WAIT_S = 10.0  # how long the printer may take to count the label
QUERY_TIMEOUT_S = 2.0
REASON_MAX = 200

_locks = {}
_locks_guard = threading.Lock()


class Refused(Exception):
    """Why a void or reprint is not done: `code` (words are the caller's) and values."""

    def __init__(self, code, **values):
        super().__init__("%s %s" % (code, values))
        self.code, self.values = code, values


def _printer_lock(name):
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def _label(engine, job_id, serial_id):
    with engine.connect() as c:
        row = c.execute(select(serials).where(serials.c.id == serial_id)).mappings().first()
    if row is None or row["job_id"] != job_id:
        raise Refused("no_label", serial_id=serial_id, job=job_id)
    return dict(row)


def _check(jobs, job_id, serial_id, reason):
    """The job (ended) and the label (of this job, not voided) -> (job, label)."""
    job = jobs.get(job_id)
    if job is None:
        raise LookupError("no print job %d" % job_id)
    if job["state"] not in FINAL:
        raise Refused("job_active", job=job_id, state=job["state"])
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_needed")
    if len(reason) > REASON_MAX:
        raise Refused("reason_long", max=REASON_MAX)
    label = _label(jobs.engine, job_id, serial_id)
    if label["state"] == "voided":
        raise Refused("voided", serial=label["serial"])
    return job, label, reason


def void_label(jobs, job_id, serial_id, reason, actor):
    """Void one label of an ended job (print_audit "void") -> the label row as it was."""
    _job, label, reason = _check(jobs, job_id, serial_id, reason)
    try:
        jobs.ledger.void(serial_id, reason, actor)
    except LedgerError:  # voided by someone else just now
        raise Refused("voided", serial=label["serial"]) from None
    return label


def _busy_job(engine, printer, job_id):
    with engine.connect() as c:
        return c.execute(select(print_jobs.c.id).where(print_jobs.c.printer == printer, print_jobs.c.id != job_id,
                                                        print_jobs.c.state.in_(BUSY))).scalar()


def _unique_value(unique, row):
    # What the label's per-label field carries for this serial row (jobs.unique_values).
    if unique[1] == "sscc":
        body = row["di"][len("sscc:"):] + row["serial"]
        return body + str(gs1_mod10(body))
    return row["serial"]


def reprint_label(jobs, job_id, serial_id, destroyed, reason, actor, wait_s=COUNTER_WAIT_S):
    """Print one label of an ended job again, by the ledger's policy ->
    {"serial", "serial_id", "old_serial", "same", "retry", "state", "counted"}: state "printed" when
    the printer counted it, "sent" when its counter did not move in time.
    A label still "allocated" (its earlier print never left the gateway) is
    printed as it is.  Raises Refused (nothing changed) or, once the label is
    in the ledger, Refused("send_failed") saying which serial is waiting."""
    job, label, reason = _check(jobs, job_id, serial_id, reason)
    prn = jobs.printer(job["printer"])
    if prn is None:
        raise Refused("no_printer", printer=job["printer"])
    tpl = template_versions.for_job(jobs.engine, job)
    fields, unique = label_plan(jobs._product(job["di"]), job, tpl)
    if unique is None:
        raise Refused("no_serials")
    with _printer_lock(prn["name"]):
        other = _busy_job(jobs.engine, prn["name"], job_id)
        if other is not None:
            raise Refused("printer_busy", printer=prn["name"], job=other)
        try:
            printer = jobs.opener(prn["uri"])
        except PrinterError as e:
            raise Refused("printer_error", printer=prn["name"], detail=str(e)) from None
        try:
            return _print_one(jobs, job, label, prn, printer, tpl, fields, unique, destroyed, reason, actor, wait_s)
        finally:
            try:
                printer.close()
            except (PrinterError, OSError):
                pass


def _print_one(jobs, job, label, prn, printer, tpl, fields, unique, destroyed, reason, actor, wait_s):
    label = _label(jobs.engine, job["id"], label["id"])  # again, under the printer's lock: a reprint just before may have changed it
    if label["state"] == "voided":
        raise Refused("voided", serial=label["serial"])
    try:
        state = S.poll(printer, timeout=QUERY_TIMEOUT_S)
        before = S.label_count(printer, timeout=QUERY_TIMEOUT_S)
    except (PrinterError, OSError, ValueError) as e:
        raise Refused("printer_error", printer=prn["name"], detail=str(e)) from None
    if not state.ready:
        raise Refused("printer_not_ready", printer=prn["name"], faults=list(state.faults))
    if before is None:
        # Without the counter the label could not be reconciled.
        raise Refused("no_counter", printer=prn["name"])
    if label["state"] == "allocated":
        sid, serial, same = label["id"], label["serial"], True
        with jobs.engine.begin() as c:
            audit(c, job["id"], sid, "reprint_retry", actor, reason)
    else:
        try:
            sid, serial = jobs.ledger.reprint(label["id"], bool(destroyed), actor, reason)
        except LedgerError as e:
            raise Refused("ledger", detail=str(e)) from None
        same = sid == label["id"]
    row = _label(jobs.engine, job["id"], sid)
    try:
        zpl = tpl.render(dict(fields, **{unique[0]: _unique_value(unique, row)}), prn["dpi"], jobs.today)
    except T.TemplateError as e:
        raise Refused("render_failed", serial=serial, detail=str(e)) from None
    try:
        printer.send(zpl)
    except PrinterError as e:
        # It may have reached the printer: keep it sent, its counter decides (as the runner does).
        jobs.ledger.mark([sid], "sent")
        _tally(jobs.engine, job["id"], sent=1)
        raise Refused("send_failed", serial=serial, detail=str(e)) from None
    jobs.ledger.mark([sid], "sent")
    after = _wait_counter(printer, before, wait_s)
    counted = (after - before) if after is not None else 0
    with jobs.engine.begin() as c:
        if counted > 0:
            jobs.ledger.mark([sid], "printed", c)
        audit(c, job["id"], sid, "reprint_printed" if counted > 0 else "reprint_uncounted", actor,
              "printer %s counter %d -> %s" % (prn["name"], before, after))
    _tally(jobs.engine, job["id"], sent=1, printed=1 if counted > 0 else 0, counted=max(counted, 0))
    return {"serial": serial, "serial_id": sid, "old_serial": label["serial"], "same": same,
            "retry": label["state"] == "allocated", "state": "printed" if counted > 0 else "sent", "counted": counted}


def _wait_counter(printer, before, wait_s):
    # The counter once it moved past `before` (or its last reading at the deadline).
    deadline = time.monotonic() + wait_s
    value = None
    while True:
        try:
            value = S.label_count(printer, timeout=QUERY_TIMEOUT_S)
        except (PrinterError, OSError, ValueError):
            value = None
        if value is not None and value > before:
            time.sleep(0.1)  # one more reading: a printer that printed two would show it now
            try:
                value = S.label_count(printer, timeout=QUERY_TIMEOUT_S) or value
            except (PrinterError, OSError, ValueError):
                pass
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(0.1)


def _tally(engine, job_id, **add):
    # counts["reprints"] of an ended job (no runner writes its counts any more).
    with engine.begin() as c:
        counts = dict(c.execute(select(print_jobs.c.counts).where(print_jobs.c.id == job_id)).scalar() or {})
        tally = dict({"sent": 0, "printed": 0, "counted": 0}, **(counts.get("reprints") or {}))
        for key, n in add.items():
            tally[key] += n
        counts["reprints"] = tally
        c.execute(update(print_jobs).where(print_jobs.c.id == job_id).values(counts=counts, updated_at=time.time()))


def reconciliation(jobs, job):
    """An ended job's numbers, the reprints after its end included ->
    {"quantity", "good", "failed", "voided", "reprinted_same", "reprinted_new",
    "counter_end", "ledger_end", "reprints_sent", "reprints_printed",
    "reprints_counted", "counter_total", "ledger_total", "short", "agrees",
    "problems": [(code, values)]}.

    counter_* is what the printer's label counter says, ledger_* what the
    ledger marked printed; they must be equal, and a finished job must have
    one good label per item (a void without a reprint leaves an item short)."""
    states = jobs.ledger.counts(job["id"])
    rec = job.get("reconciliation") or {}
    counts = job.get("counts") or {}
    tally = dict({"sent": 0, "printed": 0, "counted": 0}, **(counts.get("reprints") or {}))
    with jobs.engine.connect() as c:
        acts = dict(c.execute(select(print_audit.c.action, func.count()).where(
            print_audit.c.job_id == job["id"], print_audit.c.action.in_(("reprint_same", "reprint_new")))
            .group_by(print_audit.c.action)).all())
    good = good_labels(jobs.engine, job["id"], states, counts)
    # At the end: the job's own reconciliation (done), else what the runner last counted (cancelled /
    # failed; the runner marks exactly as many labels printed as the counter moved), else nothing
    # was counted: fine when nothing was printed, unknown otherwise.
    if rec:
        counter_end, ledger_end = rec.get("printer_counter"), rec.get("printed_ledger")
    elif counts.get("odometer_start") is not None:
        counter_end = ledger_end = counts.get("printed")
    else:
        counter_end = ledger_end = None if good or states.get("failed") else 0
    out = {"quantity": job["quantity"], "good": good, "failed": states.get("failed", 0),
           "voided": states.get("voided", 0), "reprinted_same": acts.get("reprint_same", 0),
           "reprinted_new": acts.get("reprint_new", 0), "counter_end": counter_end, "ledger_end": ledger_end,
           "reprints_sent": tally["sent"], "reprints_printed": tally["printed"], "reprints_counted": tally["counted"],
           "counter_total": None if counter_end is None else counter_end + tally["counted"],
           "ledger_total": None if ledger_end is None else ledger_end + tally["printed"],
           "short": max(job["quantity"] - good, 0) if job["state"] == "done" else 0}
    problems = []
    if out["counter_total"] is None:
        problems.append(("no_counter", {}))
    elif out["counter_total"] != out["ledger_total"]:
        problems.append(("counter_mismatch", {"counter": out["counter_total"], "ledger": out["ledger_total"]}))
    if tally["sent"] > tally["printed"]:
        problems.append(("uncounted", {"n": tally["sent"] - tally["printed"]}))
    if out["short"]:
        problems.append(("short", {"n": out["short"], "quantity": job["quantity"], "good": good}))
    out["problems"] = problems
    out["agrees"] = not problems
    return out
