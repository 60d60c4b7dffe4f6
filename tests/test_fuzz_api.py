"""Fuzzing the HTTP API from its own OpenAPI document with schemathesis
(fuzz/api.py), in process, as an admin, on SQLite and PostgreSQL: schema-
valid and invalid requests to every operation get no 5xx and responses
that match the document (content type, body schema).  The long form is
bench/fuzz.py."""

import warnings

import pytest

from fuzz import api

pytest.importorskip("schemathesis")


@pytest.fixture
def rig(db_url):
    r = api.ApiRig(db_url)
    yield r
    r.close()


def test_every_operation(rig):
    out = api.run(rig, 1)
    assert out["failures"] == [], "\n\n".join(out["failures"])
    operations = sum(1 for _ in api.schema_of(rig.app).get_all_operations())
    assert operations >= 40 and out["cases"] >= operations  # every operation was called


def test_printers_the_fuzzer_invents_are_the_local_simulator(rig):
    # Whatever URI a fuzzed request stores, the opener reaches only 127.0.0.1.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note on httpx, not ours
        from fastapi.testclient import TestClient

    client = TestClient(rig.app)
    for uri in ("tcp://192.0.2.1:9100", "serial:/dev/ttyS0", "usb:X", "cups:q"):
        assert client.put("/api/printers/p1", json={"uri": uri, "dpi": 300, "ips": 6}, headers=rig.headers).status_code == 200
        state = client.get("/api/printers/p1/status", headers=rig.headers).json()
        assert state["ready"] is True, (uri, state)  # 192.0.2.1 (TEST-NET) or a device would be unreachable


def test_a_lone_surrogate_in_any_body_is_refused(rig):
    # Found: JSON "\ud800" (valid JSON syntax, no character) reached the
    # database, a printer URI or a template and came back as a 500 from ten
    # routes.  Every operation with a JSON body now refuses it with 422.
    import re

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    client = TestClient(rig.app, raise_server_exceptions=False)
    headers = dict(rig.headers, **{"Content-Type": "application/json"})
    tried = 0
    for path, ops in rig.app.openapi()["paths"].items():
        for method, op in ops.items():
            if "requestBody" not in op:
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            r = client.request(method.upper(), url, content=b'{"name": "\\ud800", "fields": {"x": "\\udfff"}}', headers=headers)
            assert r.status_code == 422 and "not JSON text" in r.text, (method, url, r.status_code, r.text)
            tried += 1
    assert tried >= 12
