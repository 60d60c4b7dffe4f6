"""Target: the HTTP API (gateway.api), fuzzed from its own OpenAPI document
with schemathesis, in process (ASGI), as an admin.

What must hold for every request schemathesis makes (schema-valid ones and,
in negative mode, invalid ones): no 5xx, and every response has the content
type and body schema the document declares for it.

The API runs over a real Store holding scans (through the real ingest), a
device, products (through the real sheet import) and a printer, so the
routes find rows.
Printers are the virtual printer on 127.0.0.1: whatever printer URI the
fuzzer invents (tcp://any-host, serial:/dev/…), the opener connects to the
simulator, so no request ever leaves the machine or opens a device."""

import os
import secrets
import tempfile
import warnings

from fuzz import scan_payload, sheet_import
from fuzz.budget import count
from gateway.api import create_app
from gateway.api.auth import create_token
from gateway.master import sheet
from gateway.printing.jobs import PrintJobs
from gateway.printing.transports import open_printer
from gateway.sim.printer import VirtualPrinter

TARGET = "api"


def checks():
    # Not status_code_conformance: FastAPI answers 400 for a body that is not
    # JSON and the routes answer 401/403/404 without listing them in the
    # document (docs/security.md says which).
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    return [not_a_server_error, content_type_conformance, response_schema_conformance]


class ApiRig:
    def __init__(self, db_url):
        self.printer = VirtualPrinter(port=0, dpi=300, ips=14.0, label_length_in=0.5).start()
        self.ingest = scan_payload.Rig(db_url)  # scans arrive as in the gateway
        self.store = self.ingest.store
        uri = self.printer.uri

        def loopback_opener(_uri, timeout=5.0):
            return open_printer(uri, timeout)

        self.jobs = PrintJobs(self.store.engine, poll_s=0.05, opener=loopback_opener)
        self.app = create_app(self.store, self.ingest.ingest.registry, tracer=self.ingest.ingest.tracer,
                              print_jobs=self.jobs)
        self.headers = {"Authorization": "Bearer " + create_token(self.store.engine, "fuzz-" + secrets.token_hex(6), "admin")}
        self._seed()

    def _seed(self):
        for seq, raw in enumerate([scan_payload.GOOD_RAW, "]d201069012345678931727123110LOT2024A", "garbage"], 1):
            payload = ('{"v":1,"dev":"%s","boot":1,"seq":%d,"raw":"%s","mode":"receive"}'
                       % (scan_payload.DEV, seq, raw.replace("\x1d", "\\u001d"))).encode()
            scan_payload.check(self.ingest, "udi/v1/dev/%s/scan" % scan_payload.DEV, payload)
        self.ingest.ingest.registry.set_meta(scan_payload.DEV, name="fuzz handheld")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "products.csv")
            with open(path, "wb") as f:
                f.write(sheet_import.csv_bytes([sheet_import.HEADER] + sheet_import.ROWS))
            sheet.import_products(self.store.engine, path)
        self.jobs.add_printer("line1", self.printer.uri, 300, 14.0)

    def close(self):
        for job_id, runner in list(self.jobs.runners.items()):
            if runner.is_alive():  # a job the fuzzer managed to start: end it
                try:
                    self.jobs.cancel(job_id, actor="fuzz")
                except Exception:  # noqa: BLE001 - it ended meanwhile
                    pass
                runner.join(10)
        self.printer.stop()
        self.ingest.close()


def schema_of(app):
    import schemathesis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_asgi("/openapi.json", app)


def run(rig, examples, modes=("positive", "negative")):
    """Fuzz every operation of the API with `examples` cases per operation
    and mode (times the long profile's scale) -> {"cases": n, "failures":
    [text of each failing operation]}."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    from fuzz.budget import fuzz_settings

    schema = schema_of(rig.app)
    the_checks = checks()
    failures = []
    cases = 0
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in modes:
            found = []

            @fuzz_settings(examples)
            @given(case=op.as_strategy(generation_mode=GenerationMode(mode), headers=rig.headers))
            def one(case):
                nonlocal cases
                cases += 1
                count(TARGET)
                if found:
                    return  # one failure per operation and mode is enough to report
                try:
                    case.call_and_validate(headers=rig.headers, checks=the_checks)
                except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - schemathesis' FailureGroup is a BaseExceptionGroup
                    found.append("%s [%s]: %s\n%s" % (op.label, mode, str(e).strip()[:2000], case.as_curl_command()))

            try:
                one()
            except Unsatisfiable:  # negative mode of an operation without parameters: nothing to break
                continue
            failures += found
    return {"cases": cases, "failures": failures}
