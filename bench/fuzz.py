"""Fuzzing, long form: the atheris harnesses (coverage-guided, one per
target, fuzz/<target>.py) and the hypothesis / schemathesis tests
(tests/test_fuzz_*.py) under the long profile.  docs/security.md records
what a run found.

    .venv/bin/python bench/fuzz.py [--seconds 60] [--scale 40] [--only code_engine,...]
                                   [--no-atheris] [--no-hypothesis] [--keep DIR]

--seconds: atheris time per target; --scale: the long hypothesis profile
runs each test's CI budget times this (UDI_FUZZ_LONG_SCALE).  A crash in an
atheris run is kept (crash-* input in the --keep directory, default a temp
directory) and the target is fuzzed again for the time left, from the
corpus it had grown.  The last line is a JSON object:
{target: {cases, crashes, atheris: {...}, hypothesis: {...}}, "run": {...}}."""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ATHERIS_TARGETS = ["code_engine", "scan_payload", "zpl_template", "sheet_import"]
# test file -> target it fuzzes (the counts come from the oracles themselves)
TEST_FILES = ["tests/test_fuzz_code_engine.py", "tests/test_fuzz_scan_payload.py", "tests/test_fuzz_zpl_template.py",
              "tests/test_fuzz_sheet_import.py", "tests/test_fuzz_api.py", "tests/test_fuzz_panel_forms.py"]
MAX_RESTARTS = 5


def run_atheris(target, seconds, workdir):
    """Fuzz one target for `seconds` -> {"cases", "crashes", "inputs": [crash files], "corpus"}."""
    import importlib

    mod = importlib.import_module("fuzz." + target)
    corpus = os.path.join(workdir, "corpus-" + target)
    crashes_dir = os.path.join(workdir, "crashes-" + target)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(crashes_dir, exist_ok=True)
    for i, seed in enumerate(mod.seeds()):
        with open(os.path.join(corpus, "seed-%04d" % i), "wb") as f:
            f.write(seed)
    cases, crashes, restarts = 0, 0, 0
    deadline = time.time() + seconds
    while True:
        left = int(deadline - time.time())
        if left < 1 or restarts > MAX_RESTARTS:
            break
        cmd = [sys.executable, "-m", "fuzz." + target, "-max_total_time=%d" % left, "-print_final_stats=1",
               "-rss_limit_mb=4096", "-timeout=30", "-artifact_prefix=%s/" % crashes_dir, corpus]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, errors="replace",
                           timeout=left + 120, env=dict(os.environ, PYTHONHASHSEED="0"))
        out = p.stdout + p.stderr
        m = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
        if m:
            cases += int(m[-1])
        else:  # a crash ends libFuzzer before its final stats: count the runs it reported
            runs = re.findall(r"#(\d+)\s", out)
            cases += int(runs[-1]) if runs else 0
        if p.returncode == 0:
            break
        crashes += 1
        restarts += 1
        with open(os.path.join(crashes_dir, "log-%d.txt" % restarts), "w") as f:
            f.write(out[-20000:])
    return {"cases": cases, "crashes": crashes, "seconds": seconds,
            "inputs": sorted(glob.glob(os.path.join(crashes_dir, "crash-*")) + glob.glob(os.path.join(crashes_dir, "timeout-*"))
                             + glob.glob(os.path.join(crashes_dir, "oom-*"))),
            "corpus": len(os.listdir(corpus))}


def run_hypothesis(scale, workdir, only):
    """The fuzz tests under the long profile -> {target: {"cases", "crashes"}}, failed test ids."""
    counts = os.path.join(workdir, "counts.json")
    junit = os.path.join(workdir, "junit.xml")
    env = dict(os.environ, UDI_FUZZ_PROFILE="long", UDI_FUZZ_LONG_SCALE=str(scale), UDI_FUZZ_COUNTS=counts)
    files = [f for f in TEST_FILES if not only or any(t in f for t in only)]
    with open(os.path.join(workdir, "pytest.log"), "w") as log:  # the failures in full, when there are any
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", "-p", "no:cacheprovider",
                        "--junitxml", junit] + files, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    with open(counts) as f:
        cases = json.load(f)
    failed = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append("%s::%s" % (case.get("classname"), case.get("name")))
    out = {}
    for target, n in cases.items():
        stem = "test_fuzz_" + target
        out[target] = {"cases": n, "crashes": sum(1 for t in failed if stem in t)}
    return out, failed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="atheris time per target (default 60)")
    ap.add_argument("--scale", type=int, default=40, help="long hypothesis profile: CI budget x this (default 40)")
    ap.add_argument("--only", help="comma-separated targets: " + ", ".join(ATHERIS_TARGETS + ["api"]))
    ap.add_argument("--no-atheris", action="store_true")
    ap.add_argument("--no-hypothesis", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="keep corpora and crash inputs here")
    args = ap.parse_args(argv)
    only = args.only.split(",") if args.only else None
    workdir = args.keep or tempfile.mkdtemp(prefix="udi-fuzz-")
    os.makedirs(workdir, exist_ok=True)
    started = time.time()
    summary = {}
    if not args.no_atheris:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed (pip install atheris): coverage-guided fuzzing skipped", file=sys.stderr)
        else:
            for target in ATHERIS_TARGETS:
                if only and target not in only:
                    continue
                r = run_atheris(target, args.seconds, workdir)
                summary.setdefault(target, {})["atheris"] = r
                print("atheris %-13s %9d cases %d crashes" % (target, r["cases"], r["crashes"]), file=sys.stderr, flush=True)
    failed = []
    if not args.no_hypothesis:
        hyp, failed = run_hypothesis(args.scale, workdir, only)
        for target, r in hyp.items():
            summary.setdefault(target, {})["hypothesis"] = r
            print("hypothesis %-10s %9d cases %d crashes" % (target, r["cases"], r["crashes"]), file=sys.stderr, flush=True)
    for target, r in summary.items():
        r["cases"] = sum(part["cases"] for part in r.values() if isinstance(part, dict))
        r["crashes"] = sum(part["crashes"] for part in r.values() if isinstance(part, dict) and "crashes" in part)
    summary["run"] = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                      "seconds": round(time.time() - started), "atheris_seconds_per_target": args.seconds,
                      "hypothesis_scale": args.scale, "failed_tests": failed, "workdir": workdir,
                      "machine": "%s, %d cores, Python %s" % (platform.platform(), os.cpu_count(), platform.python_version())}
    print(json.dumps(summary))
    return 1 if any(r.get("crashes") for k, r in summary.items() if k != "run") else 0


if __name__ == "__main__":
    sys.exit(main())
