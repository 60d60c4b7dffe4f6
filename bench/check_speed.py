"""Code-engine throughput against biip on the same mixed corpus, in one run.

    .venv/bin/python bench/check_speed.py [--n 100000]

Prints µs/code for both and, last, a JSON object whose `ratio` is biip's time
divided by this engine's time (higher is better for UDI Edge).
"""

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import biip  # noqa: E402

import udi_codes  # noqa: E402
from bench import corpus  # noqa: E402


def run_engine(codes):
    t = time.perf_counter()
    valid = 0
    for c in codes:
        valid += udi_codes.parse(c, "read", "2026-11-22")["valid"]
    return time.perf_counter() - t, valid


def run_biip(codes):
    t = time.perf_counter()
    ok = 0
    for c in codes:
        try:
            biip.parse(c)
            ok += 1
        except Exception:  # biip raises ParseError on what it cannot read
            pass
    return time.perf_counter() - t, ok


def by_scheme(codes):
    # µs/code per (symbology, scheme) for both parsers: where time goes.
    groups = {}
    for c in codes:
        r = udi_codes.parse(c, "read", "2026-11-22")
        groups.setdefault((r["symbology"] or "-") + " " + r["scheme"], []).append(c)
    for key, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        t_e, _ = run_engine(group)
        t_b, _ = run_biip(group)
        print("%-22s n=%6d  udi_codes %6.1f µs  biip %6.1f µs  ratio %5.1f" % (key, len(group), t_e / len(group) * 1e6, t_b / len(group) * 1e6, t_b / t_e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--by-scheme", action="store_true", help="also print the figures per scheme")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    codes = corpus.make(args.n)
    if args.by_scheme:
        by_scheme(codes)
    # Alternate the two on chunks of 1,000 codes, over several rounds, and
    # keep each one's best round: the machine's other load then weighs on
    # both alike.  The first round starts with cold caches.
    t_engine = t_biip = float("inf")
    chunks = [codes[i : i + 1000] for i in range(0, len(codes), 1000)]
    for _ in range(args.rounds):
        te = tb = 0.0
        valid = biip_ok = 0
        for chunk in chunks:
            t, v = run_engine(chunk)
            te += t
            valid += v
            t, b = run_biip(chunk)
            tb += t
            biip_ok += b
        t_engine = min(t_engine, te)
        t_biip = min(t_biip, tb)
    us_engine = t_engine / len(codes) * 1e6
    us_biip = t_biip / len(codes) * 1e6
    print("codes: %d (engine: %d valid; biip parsed %d without exception)" % (len(codes), valid, biip_ok))
    print("udi_codes: %.1f µs/code" % us_engine)
    print("biip:      %.1f µs/code" % us_biip)
    print(json.dumps({
        "codes": len(codes),
        "engine_us_per_code": round(us_engine, 2),
        "biip_us_per_code": round(us_biip, 2),
        "ratio": round(t_biip / t_engine, 2),
        "python": platform.python_version(),
        "machine": "%s, %d cores" % (platform.machine(), os.cpu_count()),
    }))


if __name__ == "__main__":
    main()
