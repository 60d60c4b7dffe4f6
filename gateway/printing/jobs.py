"""Print jobs: create, start, pause, resume, cancel; stream labels to the
printer with a bounded look-ahead so that it never waits; track every label
through the serial ledger; hold on a printer fault and reconcile at the end.

How a label is accounted for (the printer's own counter is the truth):
- its serial is allocated and committed before its ZPL leaves the gateway
  (ledger: allocated), then marked sent once the bytes are written;
- printed = the printer's label counter (odometer.total_label_count) minus its value at
  the job's start; the first `printed` sent labels are marked printed, in
  order (a printer prints its buffer first in, first out);
- on a fault (paper/ribbon out, head open, pause, no answer) the job holds:
  nothing more is sent.  The operator fixes the printer and resumes; the
  gateway lets the printer empty its buffer, reads the counter again, and
  any label that was sent but not printed (a printer that lost its buffer,
  ~JA) is voided — its serial is never printed, a new one is allocated.
  No serial is skipped silently, none is printed twice."""

import logging
import threading
import time

from sqlalchemy import func, insert, select, update

from gateway.printing import status as S
from gateway.printing import template_versions
from gateway.printing import templates as T
from gateway.printing.ledger import Ledger, audit
from gateway.printing.transports import PrinterError, open_printer
from gateway.store import storage_outage
from gateway.schema import label_checks, print_jobs, printers, products, serials
from udi_codes.checkchars import gs1_mod10

log = logging.getLogger("udi_edge.printing")

ACTIVE = ("running", "held", "paused")
FINAL = ("done", "cancelled", "failed")


class JobError(ValueError):
    def __init__(self, problems):
        super().__init__("; ".join("%s: %s" % (p.get("field") or "-", p["message"]) for p in problems))
        self.problems = problems


def problem(field, rule, message):
    return {"field": field, "rule": rule, "message": message}


# --- what goes on each label ---------------------------------------------------------

DI_TYPES = ("gtin14", "ma_di", "hibc_primary")  # template fields that take the job's DI
UNIQUE_TYPES = {"serial": "serial", "drug20": "drug20", "sscc18": "sscc"}  # a new value on every label


def label_plan(product, job, tpl):
    """The template fields every label of the job shares, and the field that
    changes per label -> (fields, (field name, kind) or None).

    The PI elements are those the product's master record declares (UDID
    scbssfbh* -> lot / serial / production date / expiry); without a master
    record, those the job gives.  A case label takes the next-lower level
    and its quantity from the packaging chain."""
    fields = dict(job.get("fields") or {})
    fields.pop("sscc_prefix", None)
    if product:
        if product.get("contains_di"):
            fields.setdefault("content", product["contains_di"])
            fields.setdefault("count", product.get("contains_qty"))
        fields.setdefault("product_name", product.get("name"))
        fields.setdefault("reg_no", product.get("reg_no"))
    for name, spec in tpl.fields.items():
        if spec.get("type") in DI_TYPES and name not in fields:
            fields[name] = job["di"]
    for name, flag, _what in DECLARED:
        wanted = bool(product.get(flag)) if product else job.get(name) is not None
        if wanted and name in tpl.fields:
            fields[name] = job.get(name)
    unique = None
    for name, spec in tpl.fields.items():
        kind = UNIQUE_TYPES.get(spec.get("type"))
        if kind is None:
            continue
        if kind == "serial" and product is not None and not product.get("pi_serial"):
            continue  # the master says this product's PI has no serial
        if kind == "serial" and product is None and not spec.get("required"):
            continue
        unique = (name, kind)
    fields = {k: v for k, v in fields.items() if v is not None and k in tpl.fields}
    return fields, unique


DECLARED = (("lot", "pi_lot", "a batch/lot number"), ("production_date", "pi_mfg", "a production date"),
            ("expiry", "pi_expiry", "an expiry date"))


def declared_missing(product, job):
    # The master record declares a PI element the job does not give.
    if not product:
        return []
    return [problem(name, "pi_declared", "the product's master record (UDID) declares %s in its PI; the job has none" % what)
            for name, flag, what in DECLARED if product.get(flag) and not job.get(name)]


def sscc_pool(job):
    # SSCCs: extension digit + GS1 company prefix (job field sscc_prefix),
    # a serial reference from the ledger, the check digit.
    prefix = str((job.get("fields") or {}).get("sscc_prefix") or "")
    if not prefix.isdigit() or not 8 <= len(prefix) <= 12:
        raise JobError([problem("sscc_prefix", "sscc_prefix",
                                "a case label needs sscc_prefix: extension digit + GS1 company prefix, 8-12 digits")])
    return "sscc:" + prefix, 17 - len(prefix)


def good_labels(engine, job_id, states, counts):
    """A job's good labels.  Serialised ones from the ledger (one row per
    label: printed or verified).  Lot-level ones have no serial, so no
    ledger rows: the labels the printer's counter counted for the job
    (counts["printed"]) less those that failed their check (such a label is
    not printed again: it leaves the job short)."""
    if states:
        return states.get("printed", 0) + states.get("verified", 0)
    with engine.connect() as c:
        failed = c.execute(select(func.count()).select_from(label_checks).where(
            label_checks.c.job_id == job_id, label_checks.c.serial_id.is_(None),
            label_checks.c.passed.is_(False))).scalar() or 0
    return max(((counts or {}).get("printed") or 0) - failed, 0)


def unique_values(ledger, job, unique, n, job_id, label_no):
    # n per-label values, allocated durably -> [(serial id, value)].
    name, kind = unique
    if kind == "sscc":
        pool_di, width = sscc_pool(job)
        ledger.pool(pool_di, None, "sequential", {"width": width, "start": 1})
        out = []
        for sid, ref in ledger.allocate(pool_di, None, n, job_id, label_no):
            body = pool_di[5:] + ref
            out.append((sid, body + str(gs1_mod10(body))))
        return out
    return ledger.allocate(job["di"], job.get("lot"), n, job_id, label_no)


class PrintJobs:
    """The gateway's print jobs; one runner thread per running job.

    In a site of several gateways (docs/deployment.md) each printer belongs
    to the gateway that can reach it (printers.gateway): only that gateway
    runs its jobs.  A job started, paused or cancelled on any gateway's panel
    or API changes its state in the shared database; the owner picks it up
    (pick_up, every second) and its runner follows the state as always.
    gateway None: this gateway runs the printers nobody owns (one gateway
    alone: all of them)."""

    def __init__(self, engine, lookahead=4, poll_s=0.2, opener=open_printer, today=None, gateway=None):
        self.engine = engine
        self.gateway = gateway
        self.ledger = Ledger(engine)
        self.lookahead = lookahead  # labels in the printer's buffer at most: it never waits, a fault strands few
        self.poll_s = poll_s
        self.opener = opener
        self.today = today
        self.runners = {}
        self.lock = threading.Lock()

    # --- printers ----------------------------------------------------------------------

    def add_printer(self, name, uri, dpi, ips, owner=None):
        """Add or change a printer.  A new one is run by `owner`, else by this
        gateway; a change keeps the printer's gateway unless `owner` is given."""
        if dpi not in (203, 300, 600):
            raise JobError([problem("dpi", "dpi", "dpi must be 203, 300 or 600, got %r" % (dpi,))])
        if not (isinstance(ips, (int, float)) and 1 <= ips <= 14):
            raise JobError([problem("ips", "speed", "rated speed must be 1-14 inches per second, got %r" % (ips,))])
        row = {"name": name, "uri": uri, "dpi": dpi, "ips": float(ips), "updated_at": time.time()}
        if owner is not None:
            row["gateway"] = owner
        with self.engine.begin() as c:
            if c.execute(update(printers).where(printers.c.name == name).values(**row)).rowcount == 0:
                c.execute(insert(printers).values(**dict({"gateway": self.gateway}, **row)))
        return row

    def give_printer(self, name, gateway, actor=None):
        """Give a printer to another gateway of the site (None: to nobody, run
        by whichever gateway starts a job) -> the printer.  Not while one of
        its jobs is running: two gateways would print it."""
        with self.engine.begin() as c:
            if c.execute(select(printers.c.name).where(printers.c.name == name)).first() is None:
                raise LookupError("no printer named %s" % name)
            busy = c.execute(select(print_jobs.c.id).where(print_jobs.c.printer == name,
                                                            print_jobs.c.state.in_(("running", "cancelling")))).first()
            if busy is not None:
                raise JobError([problem("printer", "printer_busy", "job %d is running on %s: pause it (or let it end) first" % (busy[0], name))])
            c.execute(update(printers).where(printers.c.name == name).values(gateway=gateway, updated_at=time.time()))
            audit(c, None, None, "printer_given", actor, "%s to gateway %s" % (name, gateway or "(none)"))
        return self.printer(name)

    def runs_here(self, prn):
        # Whether this gateway runs the printer's jobs.
        return prn.get("gateway") in (None, self.gateway)

    def printer(self, name):
        with self.engine.connect() as c:
            r = c.execute(select(printers).where(printers.c.name == name)).mappings().first()
        return dict(r) if r else None

    # --- jobs --------------------------------------------------------------------------

    def create(self, di, template, printer, quantity, lot=None, production_date=None, expiry=None, fields=None, actor=None,
               verify=None):
        """A job, checked before anything is printed: the template exists and
        supports the printer's dpi, and a sample label passes every template
        and code-engine rule (print profile).  -> the job row, or JobError
        naming each field and rule."""
        problems = []
        prn = self.printer(printer)
        if prn is None:
            problems.append(problem("printer", "unknown_printer", "no printer named %r" % printer))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 1_000_000:
            problems.append(problem("quantity", "quantity", "quantity must be 1-1,000,000 labels"))
        try:
            tpl = template_versions.current(self.engine, template)  # the version this job records and prints
        except (T.TemplateError, OSError) as e:
            problems.append(problem("template", "unknown_template", str(e)))
            tpl = None
        if verify is not None:
            from gateway.quality.line import check_policy

            try:
                verify = check_policy(verify)
            except ValueError as e:
                problems.append(problem("verify", "verify_policy", str(e)))
        job = {"di": di, "template": template, "printer": printer, "quantity": quantity, "lot": lot,
               "production_date": production_date, "expiry": expiry, "fields": fields or {},
               "verify": verify, "rejected": 0, "template_version": tpl.version if tpl is not None else None}
        if tpl is not None and prn is not None:
            problems += self._sample_problems(tpl, prn, job)
        if problems:
            raise JobError(problems)
        now = time.time()
        row = dict(job, state="created", counts={"printed": 0, "sent": 0, "voided": 0}, created_by=actor,
                   created_at=now, updated_at=now)
        with self.engine.begin() as c:
            row["id"] = c.execute(insert(print_jobs).values(**row)).inserted_primary_key[0]
            audit(c, row["id"], None, "create", actor, "%d × %s on %s" % (quantity, template, printer))
        return row

    def _sample_problems(self, tpl, prn, job):
        product = self._product(job["di"])
        missing = declared_missing(product, job)
        if missing:
            return missing
        fields, unique = label_plan(product, job, tpl)
        if unique is not None:
            name, kind = unique
            if kind == "sscc":
                try:
                    fields[name] = _sample_sscc(job)
                except JobError as e:
                    return e.problems
            else:
                fields[name] = {"serial": "SAMPLE1", "drug20": "81234567890123456789"}[kind]
        return tpl.check(fields, prn["dpi"], self.today)

    def _product(self, di):
        with self.engine.connect() as c:
            r = c.execute(select(products).where(products.c.di == di)).mappings().first()
        return dict(r) if r else None

    def get(self, job_id):
        with self.engine.connect() as c:
            r = c.execute(select(print_jobs).where(print_jobs.c.id == job_id)).mappings().first()
        if r is None:
            return None
        job = dict(r)
        job["serials"] = self.ledger.counts(job_id)
        return job

    def start(self, job_id, actor=None):
        job = self._job(job_id, ("created", "paused", "held"))
        prn = self.printer(job["printer"]) or {}
        owner = None if self.runs_here(prn) else prn["gateway"]
        if owner is not None:
            from gateway import site

            up, seen = site.alive(self.engine, owner)
            if not up:
                raise JobError([problem("printer", "printer_gateway_down", "printer %s is run by gateway %s, which is not running "
                                        "(last seen %s): start that gateway, or give the printer to a running one" % (
                                            job["printer"], owner, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seen)) if seen else "never"))])
        # From the state it had, in one statement: two panels pressing start
        # at once start it once.
        with self.engine.begin() as c:
            if c.execute(update(print_jobs).where(print_jobs.c.id == job_id, print_jobs.c.state == job["state"])
                         .values(state="running", reason=None, updated_at=time.time())).rowcount == 0:
                raise JobError([problem("state", "job_state", "job %d changed meanwhile; look again" % job_id)])
            audit(c, job_id, None, "start" if job["state"] == "created" else "resume", actor,
                  "run by gateway %s" % owner if owner else None)
        if owner is not None:
            return self.get(job_id)  # its gateway picks it up (pick_up)
        runner = Runner(self, job_id)
        with self.lock:
            old = self.runners.get(job_id)
            if old is not None and old.is_alive():
                old.wake()
                return self.get(job_id)
            self.runners[job_id] = runner
        runner.start()
        return self.get(job_id)

    resume = start  # the operator's "go on" after a hold or a pause

    def pause(self, job_id, actor=None):
        self._job(job_id, ("running", "held"))
        self._set(job_id, state="paused", reason="paused by %s" % (actor or "operator"))
        with self.engine.begin() as c:
            audit(c, job_id, None, "pause", actor, None)
        return self.get(job_id)

    def cancel(self, job_id, actor=None):
        job = self._job(job_id, ("created", "running", "held", "paused"))
        with self.lock:
            runner = self.runners.get(job_id)
        here = runner is not None and runner.is_alive()
        # a job running on another gateway: its runner ends it (cancels what waits in the printer)
        elsewhere = job["state"] == "running" and not self.runs_here(self.printer(job["printer"]) or {})
        self._set(job_id, state="cancelling" if here or elsewhere else "cancelled",
                  reason="cancelled by %s" % (actor or "operator"))
        with self.engine.begin() as c:
            audit(c, job_id, None, "cancel", actor, None)
        if here:
            runner.wake()
        elif not elsewhere:
            self._void_unprinted(job_id, "job cancelled before these were printed", actor)
        return job

    def pick_up(self):
        """Run the jobs other gateways started (or cancelled) on this
        gateway's printers -> their ids.  Called every second by the site
        member (gateway.site)."""
        if self.gateway is None:
            return []
        with self.engine.connect() as c:
            ids = [r[0] for r in c.execute(select(print_jobs.c.id).join(printers, printers.c.name == print_jobs.c.printer).where(
                printers.c.gateway == self.gateway, print_jobs.c.state.in_(("running", "cancelling"))))]
        started = []
        for job_id in ids:
            with self.lock:
                old = self.runners.get(job_id)
                if old is not None and old.is_alive():
                    continue
                # read again: a runner of ours that just ended wrote its final state before it ended
                if (self.get(job_id) or {}).get("state") not in ("running", "cancelling"):
                    continue
                runner = self.runners[job_id] = Runner(self, job_id)
            runner.start()
            started.append(job_id)
        return started

    def wait(self, job_id, timeout=None):
        with self.lock:
            runner = self.runners.get(job_id)
        if runner is not None:
            runner.join(timeout)
        return self.get(job_id)

    def hold_all_after_restart(self):
        # A gateway that stopped mid-job: its jobs hold until an operator
        # resumes (the resume reconciles against the printer's counter).
        # Only its own: the other gateways of the site run theirs.
        with self.engine.begin() as c:
            rows = c.execute(select(print_jobs.c.id, print_jobs.c.gateway, printers.c.gateway)
                             .join(printers, printers.c.name == print_jobs.c.printer, isouter=True)
                             .where(print_jobs.c.state.in_(("running", "cancelling")))).all()
            # the gateway that ran it; one not yet picked up, its printer's
            mine = [i for i, ran_by, owner in rows
                    if (ran_by == self.gateway if ran_by is not None else owner in (None, self.gateway))]
            if mine:
                c.execute(update(print_jobs).where(print_jobs.c.id.in_(mine))
                          .values(state="held", reason="the gateway restarted during the job", updated_at=time.time()))

    def _job(self, job_id, states):
        job = self.get(job_id)
        if job is None:
            raise LookupError("no print job %d" % job_id)
        if job["state"] not in states:
            raise JobError([problem("state", "job_state", "job %d is %s; this needs %s" % (job_id, job["state"], " or ".join(states)))])
        return job

    def _set(self, job_id, **values):
        values["updated_at"] = time.time()
        with self.engine.begin() as c:
            c.execute(update(print_jobs).where(print_jobs.c.id == job_id).values(**values))

    def _void_unprinted(self, job_id, reason, actor=None):
        with self.engine.begin() as c:
            ids = [r[0] for r in c.execute(select(serials.c.id).where(
                serials.c.job_id == job_id, serials.c.state.in_(("allocated", "sent"))))]
            for sid in ids:
                self.ledger.void(sid, reason, actor, c)
        return len(ids)


def _sample_sscc(job):
    pool_di, width = sscc_pool(job)
    body = pool_di[5:] + "0" * (width - 1) + "1"
    return body + str(gs1_mod10(body))


class Runner(threading.Thread):
    """Streams one job to its printer (see the module docstring)."""

    def __init__(self, jobs, job_id):
        super().__init__(name="print-job-%d" % job_id, daemon=True)
        self.jobs = jobs
        self.job_id = job_id
        self.event = threading.Event()

    def wake(self):
        self.event.set()

    def run(self):
        try:
            self._run()
        except _Stop:
            pass  # the job's state says why
        except PrinterError as e:  # the printer went away during a status or counter query
            self._hold("printer: %s" % e)
        except Exception as e:
            if not storage_outage(e):  # a bug: the job stops, visibly
                log.exception("print job %d failed", self.job_id)
                self._hold("internal error: %r" % (e,))
                return
            # The database went away mid-job (a restart): nothing more is
            # sent; once it is back the job holds, and the operator's resume
            # reconciles with the printer's counter.
            log.warning("print job %d: the database is unavailable (%s); the job holds when it is back", self.job_id, e)
            self._hold("the database was unavailable during the job: %s" % (str(e).strip().splitlines() or [""])[0][:200])

    def _hold(self, reason):
        # The job's counts are read from the database, not from this runner:
        # they change only together with the ledger (one transaction), so a
        # write that failed half-way cannot leave them apart.
        delay = 0.5
        while True:
            try:
                with self.jobs.engine.begin() as c:
                    row = c.execute(select(print_jobs.c.counts).where(print_jobs.c.id == self.job_id)).first()
                    counts = dict((row[0] if row else None) or {}, needs_reconcile=True)
                    c.execute(update(print_jobs).where(print_jobs.c.id == self.job_id, print_jobs.c.state.in_(("running", "cancelling")))
                              .values(state="held", reason=reason, counts=counts, updated_at=time.time()))
                    audit(c, self.job_id, None, "hold", None, reason)
                return
            except Exception as e:
                if not storage_outage(e):
                    log.exception("print job %d could not be held", self.job_id)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _save_counts(self, c, counts):
        c.execute(update(print_jobs).where(print_jobs.c.id == self.job_id).values(counts=counts, updated_at=time.time()))

    def _run(self):
        jobs = self.jobs
        job = jobs.get(self.job_id)
        if job["gateway"] != jobs.gateway:
            jobs._set(self.job_id, gateway=jobs.gateway)  # who prints it, for the site's panel
        prn = jobs.printer(job["printer"])
        tpl = template_versions.for_job(jobs.engine, job)  # the version the job was created with
        fields, unique = label_plan(jobs._product(job["di"]), job, tpl)
        counts = dict(job["counts"] or {})
        try:
            printer = jobs.opener(prn["uri"])
        except PrinterError as e:
            jobs._set(self.job_id, state="held", reason="printer: %s" % e)
            return
        try:
            self._stream(printer, prn, tpl, fields, unique, counts)
        finally:
            printer.close()

    def _stream(self, printer, prn, tpl, fields, unique, counts):
        jobs = self.jobs
        if "odometer_start" not in counts:
            counts["odometer_start"] = self._odometer(printer)
            counts["label_no"] = 0
            jobs._set(self.job_id, counts=counts)
        elif counts.get("needs_reconcile", True):
            # A resume.  If the printer still holds every label sent and not
            # yet counted, go on at once (it never waits); if it holds fewer
            # (buffer cleared, power cycled), let it finish what it has and
            # void the rest: their serials are never printed later.
            self._reconcile(printer, counts)
            state = S.poll(printer, timeout=2.0)
            held = (state.formats_in_buffer or 0) + (state.labels_remaining or 0)
            if not state.ready or held < counts["sent"] - counts["printed"]:
                self._drain(printer)
                self._reconcile(printer, counts, lost_ok=True)
        while True:
            job = jobs.get(self.job_id)
            if job["state"] == "cancelling":
                printer.send(b"~JA")  # cancel what waits in the printer
                self._drain(printer)
                self._reconcile(printer, counts, lost_ok=True)
                jobs._void_unprinted(self.job_id, "job cancelled before these were printed")
                jobs._set(self.job_id, state="cancelled", counts=counts)
                return
            if job["state"] != "running":  # paused / held by someone: stop sending, keep counting
                self._reconcile(printer, counts)
                counts["needs_reconcile"] = True
                jobs._set(self.job_id, counts=counts)
                return
            state = S.poll(printer, timeout=2.0)
            self._reconcile(printer, counts)
            if not state.ready:  # a full buffer is only back-pressure; ready says so
                counts["needs_reconcile"] = True
                jobs._set(self.job_id, state="held", reason="printer: " + ", ".join(state.faults), counts=counts)
                with jobs.engine.begin() as c:
                    audit(c, self.job_id, None, "hold", None, ", ".join(state.faults))
                return
            target = job["quantity"] + (job.get("rejected") or 0)  # each label that failed its check is printed again
            if counts["printed"] >= target:
                if job.get("verify") and self._unchecked() and time.monotonic() < counts.setdefault("_check_deadline", time.monotonic() + 30):
                    self.event.wait(jobs.poll_s)  # the last labels' checks are still coming
                    self.event.clear()
                    continue
                self._finish(printer, counts, job)
                return
            in_printer = counts["sent"] - counts["printed"]
            room = min(jobs.lookahead - in_printer, target - counts["printed"] - in_printer)
            if room > 0:
                self._send(printer, prn, tpl, fields, unique, counts, room, job)
            self.event.wait(jobs.poll_s)
            self.event.clear()

    def _send(self, printer, prn, tpl, fields, unique, counts, n, job):
        jobs = self.jobs
        if unique is not None:
            allocated = unique_values(jobs.ledger, job, unique, n, self.job_id, counts["label_no"])
        else:
            allocated = [(None, None)] * n
        labels = []
        for i, (sid, value) in enumerate(allocated):
            f = dict(fields, **{unique[0]: value}) if unique is not None else fields
            try:
                labels.append(tpl.render(f, prn["dpi"], jobs.today))
            except T.TemplateError as e:
                for k, (other, _) in enumerate(allocated):  # none of these was sent
                    if other is not None:
                        jobs.ledger.void(other, "label could not be rendered: %s" % e if k == i else "the job failed before it was sent")
                jobs._set(self.job_id, state="failed", reason="label %d: %s" % (counts["label_no"] + i, e), counts=counts)
                raise _Stop()
        # Marked sent *before* the bytes leave, with the job's counts in the
        # same transaction: a label the printer may hold always has a record.
        # One that never left (a crash, a printer gone, a database gone before
        # the send) is found at the resume — the printer holds fewer than sent
        # — and voided, never printed later.
        after = dict(counts, sent=counts["sent"] + n, label_no=counts["label_no"] + n)
        with jobs.engine.begin() as c:
            jobs.ledger.mark([sid for sid, _ in allocated if sid is not None], "sent", c)
            self._save_counts(c, after)
        counts.update(after)
        for zpl in labels:
            try:
                printer.send(zpl)
            except PrinterError as e:
                counts["needs_reconcile"] = True
                jobs._set(self.job_id, state="held", reason="printer: %s" % e, counts=counts)
                raise _Stop()

    def _odometer(self, printer):
        # The printer's non-resettable label counter (SGD odometer.total_label_count).
        return S.label_count(printer, timeout=2.0)

    def _reconcile(self, printer, counts, lost_ok=False):
        # printed so far = the printer's counter since the job began; mark
        # that many sent labels printed, first in first out.
        odo = self._odometer(printer)
        if odo is None or counts.get("odometer_start") is None:
            return
        printed = odo - counts["odometer_start"]
        after = dict(counts, printed=printed, needs_reconcile=False)
        with self.jobs.engine.begin() as c:  # the ledger and the job's counts together, or neither
            if printed > counts["printed"]:
                ids = [r[0] for r in c.execute(select(serials.c.id).where(
                    serials.c.job_id == self.job_id, serials.c.state == "sent").order_by(serials.c.label_no).limit(printed - counts["printed"]))]
                self.jobs.ledger.mark(ids, "printed", c)
            if lost_ok and counts["sent"] > printed:
                # sent, the printer's buffer is empty, not counted: never printed
                lost = [r[0] for r in c.execute(select(serials.c.id).where(
                    serials.c.job_id == self.job_id, serials.c.state == "sent"))]
                for sid in lost:
                    self.jobs.ledger.void(sid, "sent but not printed (the printer lost its buffer)", None, c)
                after["voided"] = counts.get("voided", 0) + (counts["sent"] - printed)
                after["sent"] = printed
            if after != counts:
                self._save_counts(c, after)
        counts.update(after)

    def _drain(self, printer, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = S.poll(printer, timeout=2.0)
            if state.ready and state.idle:  # nothing buffered, no ^PQ batch still printing
                return True
            time.sleep(self.jobs.poll_s)
        return False

    def _unchecked(self):
        with self.jobs.engine.connect() as c:
            return c.execute(select(serials.c.id).where(serials.c.job_id == self.job_id, serials.c.state == "printed").limit(1)).first() is not None

    def _finish(self, printer, counts, job):
        odo = self._odometer(printer)
        counts.pop("_check_deadline", None)
        states = self.jobs.ledger.counts(self.job_id)
        good = good_labels(self.jobs.engine, self.job_id, states, counts)
        rejected = job.get("rejected") or 0
        rec = {"quantity": job["quantity"], "good_labels": good, "verified": states.get("verified", 0),
               "rejected": rejected, "printed_ledger": good + rejected,
               "printer_counter": None if odo is None else odo - counts["odometer_start"]}
        rec["agrees"] = rec["printed_ledger"] == rec["printer_counter"] and good == job["quantity"]
        counts["reconciled"] = rec
        self.jobs._set(self.job_id, state="done", counts=counts, reconciliation=rec)
        with self.jobs.engine.begin() as c:
            audit(c, self.job_id, None, "done", None, str(rec))


class _Stop(Exception):
    pass


