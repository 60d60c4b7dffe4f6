#!/usr/bin/env python3
"""Generate udi_codes/gs1_lint_tables.py, the code lists of the GS1 linters.

Run from the repository root:

    python tools/gen_lint_tables.py            # write the module
    python tools/gen_lint_tables.py --check    # exit 1 if it is out of date

Sources:
  * ISO 3166-1 numeric and alpha-2, ISO 4217 numeric: the pycountry package
    (build dependency), corrected by tools/data/gs1_code_list_overrides.txt so
    that the lists equal GS1's reference linters (GS1's list wins);
  * GS1 PackageTypeCode: tools/data/packagetypes.txt;
  * AIDC media types: tools/data/mediatypes.txt;
  * importer index characters: tools/data/importer_index.txt.

Each list becomes one space-separated string with a space at both ends, so
that `(" " + code + " ") in LIST` is the lookup and MicroPython keeps one
small str object per list.  The output depends only on the inputs (sorted,
no timestamps), so running the script twice gives the same file.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tools", "data")
OUT = os.path.join(ROOT, "udi_codes", "gs1_lint_tables.py")

# The pycountry release the overrides were written against.  Another release
# still works while the overrides keep the lists equal to GS1's (the tests
# compare them with GS1's reference tables); the script only notes it.  The
# version is not written into the output, so the file depends only on the
# lists themselves.
PYCOUNTRY_PINNED = "26.2.16"


def _data_lines(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip() if not line.startswith("#") else ""
            if line:
                yield line


def read_packagetypes():
    return sorted(set(_data_lines("packagetypes.txt")))


def read_mediatypes():
    out = set()
    for line in _data_lines("mediatypes.txt"):
        if "-" in line:
            lo, hi = line.split("-")
            for v in range(int(lo), int(hi) + 1):
                out.add("%02d" % v)
        else:
            out.add("%02d" % int(line))
    return sorted(out)


def read_importer_index():
    with open(os.path.join(DATA, "importer_index.txt"), encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    if len(lines) != 1:
        raise SystemExit("importer_index.txt: expected exactly one data line")
    return "".join(sorted(set(lines[0])))


def read_overrides():
    add, drop = {}, {}
    for line in _data_lines("gs1_code_list_overrides.txt"):
        parts = line.split()
        if len(parts) < 3 or parts[1] not in "+-":
            raise SystemExit("gs1_code_list_overrides.txt: bad line %r" % line)
        lst, op, code = parts[0], parts[1], parts[2]
        (add if op == "+" else drop).setdefault(lst, set()).add(code)
    return add, drop


def pycountry_lists():
    try:
        import pycountry
    except ImportError:
        raise SystemExit("pycountry is needed to generate the tables "
                         "(pip install pycountry==%s)" % PYCOUNTRY_PINNED)
    try:
        from importlib.metadata import version
        ver = version("pycountry")
    except Exception:
        ver = getattr(pycountry, "__version__", "unknown")
    lists = {
        "iso3166": set(c.numeric for c in pycountry.countries),
        "iso3166alpha2": set(c.alpha_2 for c in pycountry.countries),
        "iso4217": set(c.numeric for c in pycountry.currencies
                       if getattr(c, "numeric", None)),
    }
    return ver, lists


def apply_overrides(lists, add, drop, report):
    out = {}
    for name, codes in sorted(lists.items()):
        a, d = add.get(name, set()), drop.get(name, set())
        if a & d:
            raise SystemExit("overrides both add and drop %s in %s"
                             % (sorted(a & d), name))
        added, dropped = sorted(a - codes), sorted(d & codes)
        if added or dropped:
            report.append("%s: +%s -%s vs pycountry" % (name, added, dropped))
        out[name] = sorted((codes | a) - d)
    for name in set(add) | set(drop):
        if name not in lists:
            raise SystemExit("overrides name an unknown list %r" % name)
    return out


def _wrap(name, codes, comment):
    # " A B C " split over lines of at most ~78 characters.
    text = " " + " ".join(codes) + " "
    chunks, cur = [], ""
    for word in text.split(" ")[1:-1]:
        piece = word + " "
        if len(cur) + len(piece) > 68:
            chunks.append(cur)
            cur = ""
        cur += piece
    chunks.append(cur)
    chunks[0] = " " + chunks[0]
    lines = ["# %s (%d codes)" % (comment, len(codes)), "%s = (" % name]
    for c in chunks:
        lines.append('    "%s"' % c)
    lines.append(")")
    return "\n".join(lines)


def render(tables, importer):
    head = [
        "# GENERATED FILE - do not edit.  Regenerate with:",
        "#     python tools/gen_lint_tables.py",
        "#",
        "# Code lists of the GS1 Barcode Syntax Dictionary linters (see",
        "# udi_codes/gs1_lint.py).  Each list is one space-separated str with a",
        "# space at both ends: look a code up with (\" \" + code + \" \") in LIST.",
        "#",
        "# Sources: pycountry (ISO 3166-1, ISO 4217) corrected by",
        "# tools/data/gs1_code_list_overrides.txt to equal GS1's linters;",
        "# tools/data/packagetypes.txt, mediatypes.txt, importer_index.txt.",
        "",
    ]
    body = [
        _wrap("ISO3166", tables["iso3166"], "ISO 3166-1 numeric country codes"),
        _wrap("ISO3166_ALPHA2", tables["iso3166alpha2"],
              "ISO 3166-1 alpha-2 country codes"),
        _wrap("ISO4217", tables["iso4217"], "ISO 4217 numeric currency codes"),
        _wrap("PACKAGE_TYPES", tables["packagetypes"], "GS1 PackageTypeCode"),
        _wrap("MEDIA_TYPES", tables["mediatypes"], "AIDC media types"),
        "# Characters allowed as an importer index (AI 7040)\n"
        "IMPORTER_INDEX = \"%s\"" % importer,
    ]
    return "\n".join(head) + "\n" + "\n\n".join(body) + "\n"


def build():
    ver, lists = pycountry_lists()
    add, drop = read_overrides()
    report = []
    tables = apply_overrides(lists, add, drop, report)
    tables["packagetypes"] = read_packagetypes()
    tables["mediatypes"] = read_mediatypes()
    for name in ("packagetypes", "mediatypes"):
        for c in tables[name]:
            if " " in c or not c:
                raise SystemExit("%s: bad code %r" % (name, c))
    return ver, render(tables, read_importer_index()), report


def main(argv):
    ver, text, report = build()
    if ver != PYCOUNTRY_PINNED:
        sys.stderr.write("note: pycountry %s, tables were pinned to %s\n"
                         % (ver, PYCOUNTRY_PINNED))
    for line in report:
        sys.stderr.write("override applied: %s\n" % line)
    if "--check" in argv:
        try:
            with open(OUT, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            sys.stderr.write("%s is out of date; run python tools/gen_lint_tables.py\n"
                             % os.path.relpath(OUT, ROOT))
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    sys.stderr.write("wrote %s\n" % os.path.relpath(OUT, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
