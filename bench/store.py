"""The ingest's storage path alone, in-process: site-like scans judged by
the traceability rules and stored in batches of 100 (as Store.add_scans is
called by the ingest), receive then dispatch of the same codes.

    .venv/bin/python bench/store.py [--scans 3000]

Prints µs per scan (best of 3 fresh databases) with and without the tracer;
the last line is a JSON object."""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import udi_codes  # noqa: E402
from bench import corpus  # noqa: E402
from gateway.ingest import scan_row  # noqa: E402
from gateway.store import Store  # noqa: E402
from gateway.trace import Tracer  # noqa: E402

TODAY = "2026-11-22"


def rows(codes):
    out = []
    for i, c in enumerate(codes + codes):
        mode = "receive" if i < len(codes) else "dispatch"
        msg = {"boot": 1, "seq": i, "mode": mode, "loc": "W1"}
        out.append(scan_row("bench%03d" % (i % 100), msg, udi_codes.parse(c, "read", TODAY)))
    return out


def once(url, batch, tracer):
    store = Store(url)
    t = time.perf_counter()
    for i in range(0, len(batch), 100):
        store.add_scans(batch[i:i + 100], tracer, TODAY)
    return (time.perf_counter() - t) / len(batch) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=3000)
    args = ap.parse_args()
    codes = [c for c in corpus.make(args.scans * 2, seed=3) if c.startswith("]d2") or c[:1] == "8"][:args.scans]
    figures = {}
    for label, tracer in (("engine_only", None), ("with_trace", Tracer())):
        best = None
        for rep in range(3):
            url = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="udi-bench-store-"), "s.sqlite")  # fresh each time
            us = once(url, rows(codes), tracer if tracer is None else Tracer())
            best = us if best is None else min(best, us)
        figures[label] = round(best, 1)
        print("%-12s %6.1f µs per scan (best of 3)" % (label, best))
    print(json.dumps(dict(figures, scans=2 * len(codes), machine="%s, %d cores" % (platform.machine(), os.cpu_count()))))


if __name__ == "__main__":
    main()
