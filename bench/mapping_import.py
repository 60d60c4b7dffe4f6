"""Three-code mapping import at the panel's upload limit: a dry run (what the
panel's check runs) and the import of the same file, on SQLite or PostgreSQL.

    .venv/bin/python bench/mapping_import.py [--rows 140000] [--db sqlite|postgresql]

The file is a GB18030 CSV like a hospital's 三码映射 export (GTIN, 医保编码,
商品码, name); --rows 140000 makes ~10 MB, the panel's MAX_UPLOAD.  Prints
seconds and rows/s for the dry run, the first import (all added) and a dry
run of the same file again (all unchanged), and peak memory.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, select  # noqa: E402

from gateway.master.mapping import import_mappings  # noqa: E402
from gateway.schema import mappings  # noqa: E402
from gateway.store import Store  # noqa: E402
from udi_codes.checkchars import gs1_mod10  # noqa: E402


def write_csv(path, rows):
    with open(path, "w", encoding="gb18030", newline="") as f:
        f.write("GTIN,医保编码,商品码,名称\n")
        for i in range(rows):
            body = "690%010d" % i
            f.write("%s,C03440510705%08d,SP%07d,一次性使用无菌注射器 规格%d\n" % (body + str(gs1_mod10(body)), i, i, i % 97))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=140_000)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mapping.csv")
        write_csv(path, args.rows)
        if args.db == "sqlite":
            url = "sqlite:///" + os.path.join(tmp, "bench.sqlite")
        else:
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
            import postgres

            cluster = postgres.Cluster()
            url = cluster.database()
        engine = Store(url).engine
        out = {"rows": args.rows, "mb": round(os.path.getsize(path) / 2**20, 1), "db": args.db}
        for name, kw in (("dry_run", {"dry_run": True}), ("import", {}), ("dry_run_again", {"dry_run": True})):
            secs, report = timed(lambda kw=kw: import_mappings(engine, path, **kw))
            with engine.connect() as c:
                stored = c.execute(select(func.count()).select_from(mappings)).scalar()
            out[name] = {"s": round(secs, 2), "rows_per_s": round(args.rows / secs), "added": report.added,
                         "unchanged": report.unchanged, "stored_after": stored}
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        if args.db == "postgresql":
            cluster.stop()
    for k, v in out.items():
        print("%-14s %s" % (k, v))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
