"""Code-engine throughput against biip on the same mixed corpus, in one run.

    .venv/bin/python bench/check_speed.py [--n 100000] [--rounds 5] [--chunk 1000] [--by-scheme]

Prints µs/code for both and, last, a JSON object whose `ratio` is biip's time
divided by this engine's time (higher is better for UDI Edge), each parser
reading whole streams in turn; `ratio_alternating_chunks` is the same with the
two alternating every --chunk codes (see measure()).
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
    # Sorting needed a read of each code; forget those whole results, or the
    # timed reads below would be repeats of the same scan data.
    udi_codes.repeats.clear_caches()
    for key, group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        t_e, _ = run_engine(group)
        t_b, _ = run_biip(group)
        print("%-22s n=%6d  udi_codes %6.1f µs  biip %6.1f µs  ratio %5.1f" % (key, len(group), t_e / len(group) * 1e6, t_b / len(group) * 1e6, t_b / t_e))


def measure(n, rounds, chunk, first_stream):
    # Best round of each parser over `rounds` streams of the same site.
    # chunk=0: each parser reads the whole stream in turn (which goes first
    # alternates); chunk=k: they alternate every k codes.  Every round is
    # another stream (the same products and lots, other items: new
    # serials), so no round reads a code another round read; the first
    # round starts with the engine's caches cold.
    t_engine = t_biip = float("inf")
    first_round = None
    for r in range(rounds):
        codes = corpus.make(n, stream=first_stream + r)
        size = chunk or len(codes)
        te = tb = 0.0
        valid = biip_ok = 0
        for i in range(0, len(codes), size):
            part = codes[i : i + size]
            if chunk == 0 and r % 2:
                t, b = run_biip(part)
                tb += t
                biip_ok += b
            t, v = run_engine(part)
            te += t
            valid += v
            if chunk or r % 2 == 0:
                t, b = run_biip(part)
                tb += t
                biip_ok += b
        t_engine = min(t_engine, te)
        t_biip = min(t_biip, tb)
        if first_round is None:
            first_round = te / n * 1e6
    return t_engine / n * 1e6, t_biip / n * 1e6, valid, biip_ok, first_round


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--by-scheme", action="store_true", help="also print the figures per scheme")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=1000, help="size of the alternating chunks of the second measure")
    args = ap.parse_args()
    # Two measures.  The ratio is each parser's throughput on whole streams.
    # The second alternates the two every --chunk codes: biip's run between
    # two chunks pushes the engine's remembered lots out of the CPU caches
    # (biip remembers nothing, so it loses nothing), which costs the engine
    # about a fifth; its ratio is printed too, as the conservative figure.
    us_engine, us_biip, valid, biip_ok, cold = measure(args.n, args.rounds, 0, 0)
    c_engine, c_biip, _, _, _ = measure(args.n, max(3, args.rounds - 2), args.chunk, 100)
    if args.by_scheme:
        by_scheme(corpus.make(args.n, stream=200))
    print("codes: %d (engine: %d valid; biip parsed %d without exception)" % (args.n, valid, biip_ok))
    print("udi_codes: %.1f µs/code (first round, from empty caches: %.1f)" % (us_engine, cold))
    print("biip:      %.1f µs/code" % us_biip)
    print("alternating every %d codes: udi_codes %.1f µs/code, biip %.1f µs/code, ratio %.2f" % (args.chunk, c_engine, c_biip, c_biip / c_engine))
    print(json.dumps({
        "codes": args.n,
        "engine_us_per_code": round(us_engine, 2),
        "biip_us_per_code": round(us_biip, 2),
        "ratio": round(us_biip / us_engine, 2),
        "ratio_alternating_chunks": round(c_biip / c_engine, 2),
        "engine_first_round_us_per_code": round(cold, 2),
        "chunk": args.chunk,
        "python": platform.python_version(),
        "machine": "%s, %d cores" % (platform.machine(), os.cpu_count()),
    }))


if __name__ == "__main__":
    main()
