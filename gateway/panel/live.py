"""The live snapshot (dashboard, job page, SSE): open jobs with their label
counts, printer states, handhelds online, open alerts."""

import os

from sqlalchemy import func, select

from gateway.schema import (
    alerts,
    devices,
    print_jobs,
    printers,
    serials,
)

HERE = os.path.dirname(os.path.abspath(__file__))

# --- live snapshot (dashboard and job page) ---------------------------------------------

LABEL_ROWS = 500  # labels shown on a job page; a bigger job shows its first ones and the totals

OPEN_STATES = ("created", "running", "held", "paused", "cancelling")


def serial_counts(c, ids):
    out = {i: {} for i in ids}
    if ids:
        q = (select(serials.c.job_id, serials.c.state, func.count()).where(serials.c.job_id.in_(ids))
             .group_by(serials.c.job_id, serials.c.state))
        for job_id, state, n in c.execute(q):
            out[job_id][state] = n
    return out


def job_summary(row, counts):
    # What a person wants to see of a job: how far it is, and whether it adds up.
    verified = counts.get("verified", 0)
    printed = counts.get("printed", 0) + verified  # a verified label was printed first
    rec = row.get("reconciliation") or {}
    return {"id": row["id"], "di": row["di"], "printer": row["printer"], "template": row["template"],
            "lot": row["lot"], "state": row["state"], "reason": row["reason"], "quantity": row["quantity"],
            "printed": printed, "verified": verified, "failed": counts.get("failed", 0) + (row.get("rejected") or 0),
            "voided": counts.get("voided", 0), "sent": counts.get("sent", 0),
            "agrees": rec.get("agrees") if rec else None,
            "printer_counter": rec.get("printer_counter") if rec else None}


def snapshot(engine, recent=5):
    with engine.connect() as c:
        open_rows = [dict(r) for r in c.execute(select(print_jobs).where(print_jobs.c.state.in_(OPEN_STATES))
                                                 .order_by(print_jobs.c.id.desc()).limit(20)).mappings()]
        done_rows = [dict(r) for r in c.execute(select(print_jobs).where(print_jobs.c.state.not_in(OPEN_STATES))
                                                 .order_by(print_jobs.c.id.desc()).limit(recent)).mappings()]
        rows = sorted(open_rows + done_rows, key=lambda r: -r["id"])
        counts = serial_counts(c, [r["id"] for r in rows])
        prns = [dict(r) for r in c.execute(select(printers.c.name, printers.c.dpi, printers.c.state)
                                           .order_by(printers.c.name)).mappings()]
        online = c.execute(select(func.count()).select_from(devices).where(devices.c.state == "online")).scalar()
        total = c.execute(select(func.count()).select_from(devices)).scalar()
        open_alerts = c.execute(select(func.count()).select_from(alerts).where(alerts.c.acknowledged.is_(False))).scalar()
    jobs = [job_summary(r, counts[r["id"]]) for r in rows]
    return {"jobs": jobs, "printers": [printer_state(p, open_rows) for p in prns],
            "handhelds": {"online": online, "total": total}, "alerts": open_alerts}


def printer_state(prn, open_rows):
    # The printer as the jobs see it (a held job names the fault), else its
    # last stored reading; polling every printer every second would slow the line.
    job = next((j for j in open_rows if j["printer"] == prn["name"] and j["state"] in ("running", "held", "paused")), None)
    stored = prn.get("state") or {}
    faults = list(stored.get("faults") or []) if isinstance(stored, dict) else []
    if job is not None:
        state = job["state"]
        reason = job["reason"]
    else:
        state, reason = "idle", ", ".join(faults) or None
    return {"name": prn["name"], "dpi": prn["dpi"], "state": state, "reason": reason,
            "job": job["id"] if job else None}


def job_detail(engine, jobs, job_id):
    """A job with its labels (the first LABEL_ROWS), or None."""
    job = jobs.get(job_id)
    if job is None:
        return None
    with engine.connect() as c:
        counts = serial_counts(c, [job_id])[job_id]
        labels = [dict(r) for r in c.execute(
            select(serials.c.id, serials.c.label_no, serials.c.serial, serials.c.lot, serials.c.state)
            .where(serials.c.job_id == job_id).order_by(serials.c.label_no, serials.c.id).limit(LABEL_ROWS)).mappings()]
    out = job_summary(job, counts)
    out.update(production_date=job["production_date"], expiry=job["expiry"], created_by=job["created_by"],
               template_version=job.get("template_version"),
               created_at=job["created_at"], reconciliation=job["reconciliation"], labels=labels,
               labels_total=sum(counts.values()))
    return out
