"""Deterministic mixed corpus of codes as they arrive on Chinese medical
packaging lines: mostly GS1 DataMatrix UDI scans, plus GS1-128, EAN-13,
bracketed HRI, Digital Link, HIBC, MA, 20-digit drug codes and NHSA codes,
with a share of broken ones (check digit, date, missing GS, unknown AI)."""

import random

from udi_codes import checkchars, gs1

LOT_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-"


def gtin(rng, indicator="0"):
    body = indicator + "69" + "".join(rng.choice("0123456789") for _ in range(10))
    return body + checkchars.gs1_mod10(body)


def yymmdd(rng):
    return "%02d%02d%02d" % (rng.randint(24, 31), rng.randint(1, 12), rng.randint(1, 28))


def word(rng, lo, hi):
    return "".join(rng.choice(LOT_CHARS) for _ in range(rng.randint(lo, hi)))


class Site:
    # What a plant or hospital warehouse sees: a catalogue of products
    # (GTIN per package level), a few lots each with their dates, and a
    # fresh serial on every item.
    def __init__(self, rng, products=400, lots=4):
        self.lots = []
        self.units = []
        for _ in range(products):
            g = gtin(rng, rng.choice("0001123"))
            if g[0] == "0":
                self.units.append(g)
            for _ in range(lots):
                self.lots.append((g, yymmdd(rng), yymmdd(rng), word(rng, 4, 12), rng.random() < 0.6))


def udi_pairs(rng, site=None):
    if site is None:
        g, prod, exp, lot, with_prod = gtin(rng, rng.choice("0001123")), yymmdd(rng), yymmdd(rng), word(rng, 4, 12), rng.random() < 0.6
    else:
        g, prod, exp, lot, with_prod = rng.choice(site.lots)
    pairs = [("01", g)]
    if with_prod:
        pairs.append(("11", prod))
    pairs.append(("17", exp))
    pairs.append(("10", lot))
    if rng.random() < 0.8:
        pairs.append(("21", word(rng, 6, 16)))
    return pairs


def broken(rng, scan):
    kind = rng.randrange(4)
    if kind == 0:  # check digit
        return scan[:16] + str((int(scan[16]) + 1) % 10) + scan[17:]
    if kind == 1:  # month 13
        i = scan.find("17", 17)
        return scan[: i + 4] + "13" + scan[i + 6 :] if i > 0 else scan + "x"
    if kind == 2:  # missing GS
        return scan.replace("\x1d", "")
    return scan + "\x1d9912" + "".join(rng.choice("ab ") for _ in range(3))  # space not in CSET 82


def make(n, seed=20261122, stream=0, products=400):
    # seed: the site (products, lots, dates); stream: which items of it are
    # scanned (another stream = the same site's other items, new serials).
    rng = random.Random(seed)
    site = Site(rng, products)
    if stream:
        rng = random.Random("%d/%d" % (seed, stream))
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.55:
            scan = gs1.to_scan_data(udi_pairs(rng, site), "]d2")
            out.append(broken(rng, scan) if rng.random() < 0.1 else scan)
        elif r < 0.65:
            out.append(gs1.to_scan_data(udi_pairs(rng, site), "]C1"))
        elif r < 0.72:
            # retail packs scanned by their EAN-13: catalogue products at unit level
            out.append("]E0" + rng.choice(site.units)[1:])
        elif r < 0.77:
            out.append(gs1.to_hri(udi_pairs(rng, site)))
        elif r < 0.81:
            out.append("]Q1" + gs1.to_dl_uri(udi_pairs(rng, site)))
        elif r < 0.85:
            body = "+H%03d%s%d" % (rng.randint(100, 999), word(rng, 4, 8).replace("-", "A"), rng.randint(0, 3))
            out.append(body + checkchars.hibc_mod43(body))
        elif r < 0.88:
            out.append("MA.156.M0.100350.01004YA10017.L%s.E%s.C3" % (word(rng, 4, 8).replace("-", "A"), yymmdd(rng)))
        elif r < 0.97:
            out.append("8" + "".join(rng.choice("0123456789") for _ in range(19)))
        else:
            out.append("C" + "".join(rng.choice("0123456789") for _ in range(19)))
    return out
