"""The udi-edge command line: check (arguments and the JSON-lines batch
interface) and the scanner station that `run` starts today."""

import json
import os
import subprocess
import sys

from conftest import ROOT, TODAY

SCAN = "]d201069012345678921727123110LOT2024A\x1d21SN0001"


def cli(*args, stdin=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


def test_check_accepts_every_spelling_of_gs():
    for spelling in ("\\x1d", "<GS>", "{GS}"):
        p = cli("check", "--today", TODAY, SCAN.replace("\x1d", spelling))
        assert p.returncode == 0, p.stderr
        res = json.loads(p.stdout)
        assert res["valid"] and res["pi"]["serial"] == "SN0001" and res["raw"] == SCAN


def test_check_prints_one_result_per_argument_in_order():
    p = cli("check", "--today", TODAY, "81234567890123456789", "+A123BJC5D6E71H", "hello")
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    assert [r["scheme"] for r in lines] == ["cn-drug", "hibc", "unknown"]
    assert [r["valid"] for r in lines] == [True, False, False]


def test_print_profile_refuses_day_00():
    raw = "]d2010690123456789217270200"
    read = json.loads(cli("check", "--today", TODAY, raw).stdout)
    printed = json.loads(cli("check", "--profile", "print", "--today", TODAY, raw).stdout)
    assert read["valid"] and [w["code"] for w in read["warnings"]] == ["dd00_date"]
    assert not printed["valid"] and [e["code"] for e in printed["errors"]] == ["dd00_date"]


def test_jsonl_batch_keeps_order_and_survives_bad_lines():
    lines = [
        json.dumps({"raw": SCAN}),
        "this is not json",
        json.dumps({"raw": 42}),
        json.dumps(["raw"]),
        "",
        json.dumps({"raw": "]d221SN0001", "today": TODAY}),
        json.dumps({"raw": "]d2010690123456789217251231", "today": "2026-01-01"}),
    ]
    p = cli("check", "--jsonl", stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    out = [json.loads(l) for l in p.stdout.splitlines()]
    assert len(out) == 6  # the blank line is skipped, every other line answered
    assert out[0]["valid"] and out[0]["raw"] == SCAN
    for bad in out[1:4]:
        assert not bad["valid"] and bad["errors"][0]["code"] == "bad_input_line"
    assert out[4]["errors"][0]["code"] == "ai_required"
    assert [w["code"] for w in out[5]["warnings"]] == ["expired"]


def test_check_without_codes_says_how_to_use_it():
    p = cli("check")
    assert p.returncode == 2 and "--jsonl" in p.stderr


def test_station_demo_reports_verdicts_in_chinese():
    p = cli("station", "--demo", "--today", TODAY)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("OK ") >= 6 and p.stdout.count("BAD") >= 3
    assert "校验" in p.stdout  # the wrong GTIN check digit, in Chinese


def test_station_reads_scans_from_stdin():
    p = cli("station", "--today", TODAY, stdin="81234567890123456789\n+A123BJC5D6E71H\n")
    assert p.stdout.splitlines()[0].startswith("OK ") and "BAD" in p.stdout


def test_device_logins_and_tokens_from_the_command_line(tmp_path):
    import os

    def run(*args):
        return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)

    added = run("device", "add", "hh0a1b2c3d4e5f", "--location", "ward-3")
    assert added.returncode == 0, added.stderr
    login = json.loads(added.stdout)["mqtt"]
    assert login["user"] == "hh0a1b2c3d4e5f" and len(login["password"]) >= 20
    passwd = tmp_path / "data" / "broker" / "passwd"
    assert "hh0a1b2c3d4e5f:" in passwd.read_text() and login["password"] not in passwd.read_text()  # a hash only
    assert passwd.stat().st_mode & 0o077 == 0
    assert "login" in run("device", "list").stdout
    bad = run("device", "add", "no spaces allowed")
    assert bad.returncode == 1 and "device id" in bad.stderr
    assert run("device", "revoke", "hh0a1b2c3d4e5f").stdout.strip() == "revoked"
    assert "hh0a1b2c3d4e5f:" not in passwd.read_text()
    token = run("token", "create", "erp", "--role", "reader").stdout.strip()
    assert len(token) >= 40
    assert "erp" in run("token", "list").stdout and token not in run("token", "list").stdout
    assert run("token", "create", "x", "--role", "root").returncode == 2  # argparse refuses the role


def test_panel_users_from_the_command_line_keep_the_panels_rules(tmp_path):
    def run(*args):
        env = dict(os.environ, PYTHONPATH=ROOT, UDI_EDGE_PASSWORD="correct horse battery")
        return subprocess.run([sys.executable, "-m", "gateway.cli", "user", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)

    assert run("add", "ada", "--role", "admin").returncode == 0
    assert run("add", "olga", "--role", "operator").returncode == 0
    lines = {ln.split()[0]: ln.split()[1:3] for ln in run("list").stdout.splitlines()}
    assert lines == {"ada": ["admin", "active"], "olga": ["operator", "active"]}
    last = run("role", "ada", "viewer")  # the only admin: refused, nothing changed
    assert last.returncode == 1 and "no active admin" in last.stderr
    assert run("role", "olga", "admin").returncode == 0
    assert run("disable", "ada").returncode == 0  # olga is an active admin now
    assert run("list").stdout.split("\n")[0].split()[1:3] == ["admin", "disabled"]
    assert run("disable", "olga").returncode == 1  # the last active admin
    assert run("enable", "ada").returncode == 0 and run("unlock", "ada").returncode == 0
    missing = run("role", "nobody", "viewer")
    assert missing.returncode == 1 and "no panel user named 'nobody'" in missing.stderr
