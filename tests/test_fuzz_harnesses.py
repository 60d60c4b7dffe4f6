"""The atheris harnesses (fuzz/<target>.py) run under libFuzzer: a short
run of each from its seed corpus, so bench/fuzz.py's long runs cannot rot
unnoticed."""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("atheris")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("target", ["code_engine", "scan_payload", "zpl_template", "sheet_import"])
def test_harness_runs(target, tmp_path):
    import importlib

    seeds = importlib.import_module("fuzz." + target).seeds()
    assert seeds
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds):
        (corpus / ("seed-%d" % i)).write_bytes(seed)
    runs = len(seeds) + 200
    p = subprocess.run([sys.executable, "-m", "fuzz." + target, "-runs=%d" % runs, "-print_final_stats=1",
                        "-artifact_prefix=%s/" % tmp_path, str(corpus)],
                       cwd=ROOT, capture_output=True, text=True, errors="replace", timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert int(re.search(r"number_of_executed_units:\s*(\d+)", p.stderr).group(1)) >= runs
