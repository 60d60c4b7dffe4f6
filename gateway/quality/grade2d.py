"""ISO/IEC 15415-style print-quality grading of 2D matrix symbols (Data Matrix
ECC 200, QR Code) from one image.

Follows the grading *method* of ISO/IEC 15415:2011 (integer grades 4..0,
global threshold at the midpoint, modulation and reflectance margin graded per
codeword with the error-correction step, print growth not graded) with the
symbology-specific parts of ISO/IEC 16022 (Data Matrix) and ISO/IEC 18004
(QR).  It is a measurement from an image, **not** a certified verifier: no
controlled illumination or optics, reflectance relative to the pixel scale
unless a :class:`~gateway.quality.reflectance.Calibration` is passed, and the
simplifications listed in docs/quality-2d.md (the "deviations").

Pipeline (each step a small function below):

1. locate the symbol from the decoder's four corners -> map from module
   coordinates to pixels;
2. refit that map to the symbol's outline edges (Data Matrix: the L finder and
   the dark clock modules against the quiet zone; QR: the finder patterns),
   then follow every edge of the alternating tracks (Data Matrix clock tracks,
   QR timing patterns): the measured clock-module centres are the *actual*
   grid - column positions from the horizontal tracks, row positions from the
   vertical ones, the grid lines running through them parallel to the outline
   as in the reference decode;
3. sample every module centre and the quiet-zone ring through a circular
   synthetic aperture (0.8 X by default) -> reflectance grid;
4. read the codewords from that grid and Reed-Solomon-decode them ourselves
   (errors per block -> unused error correction, corrected codewords -> the
   intended colour of every module);
5. compute each parameter from the grid.
"""

from bisect import bisect_left
from functools import lru_cache

import numpy as np

from .reflectance import reflectance, to_gray

# ----------------------------------------------------------------- thresholds
# Grade 4 (A) .. 1 (D) lower limits; anything beyond the last is 0 (F).
# "min" = value must be >= the limit, "max" = value must be <= it.
THRESHOLDS = {
    "symbol_contrast": ("min", (70.0, 55.0, 40.0, 20.0)),  # percent reflectance
    "modulation": ("min", (0.50, 0.40, 0.30, 0.20)),  # per module, 2|R-GT|/SC
    "reflectance_margin": ("min", (0.50, 0.40, 0.30, 0.20)),  # as MOD, wrong colour = 0
    "axial_nonuniformity": ("max", (0.06, 0.08, 0.10, 0.12)),
    "grid_nonuniformity": ("max", (0.38, 0.50, 0.63, 0.75)),  # in X
    "unused_error_correction": ("min", (0.62, 0.50, 0.37, 0.25)),
    # Fixed pattern damage (ISO/IEC 16022 Annex, our reading; see the docs):
    # finder / quiet-zone segments graded on the number of damaged modules,
    # clock tracks + solid areas on the fraction damaged, and the average of
    # all segment grades ("AG") graded on its own scale.
    "fpd_segment_count": ("max", (0, 1, 2, 3)),
    "fpd_segment_fraction": ("max", (0.0, 0.09, 0.13, 0.17)),
    "fpd_average": ("min", (4.0, 3.5, 3.0, 2.5)),
}

EDITION = "ISO/IEC 15415:2011 method; Data Matrix per ISO/IEC 16022, QR Code per ISO/IEC 18004 (not certified)"


def band(name, value):
    """Grade 4..0 of a value against THRESHOLDS[name]."""
    sense, limits = THRESHOLDS[name]
    for grade, limit in zip((4, 3, 2, 1), limits):
        if (value >= limit) if sense == "min" else (value <= limit):
            return grade
    return 0


def _band_array(name, values):
    # Vectorised band() for per-module values (NaN -> 0).
    sense, limits = THRESHOLDS[name]
    v = np.nan_to_num(np.asarray(values, np.float64), nan=-np.inf if sense == "min" else np.inf)
    lim = np.asarray(limits)
    if sense == "min":
        return (v[..., None] >= lim).sum(-1)
    return (v[..., None] <= lim).sum(-1)


# ------------------------------------------------------------ symbology tables
# Data Matrix ECC 200 (ISO/IEC 16022) and the DMRE sizes zxing-cpp writes
# (ISO/IEC 21471; only those whose layout was checked against generated
# symbols).  (rows, cols): (region rows, region cols, data-region rows,
# data-region cols, data codewords, EC codewords, interleaved blocks).
DM_SIZES = {
    (10, 10): (1, 1, 8, 8, 3, 5, 1), (12, 12): (1, 1, 10, 10, 5, 7, 1),
    (14, 14): (1, 1, 12, 12, 8, 10, 1), (16, 16): (1, 1, 14, 14, 12, 12, 1),
    (18, 18): (1, 1, 16, 16, 18, 14, 1), (20, 20): (1, 1, 18, 18, 22, 18, 1),
    (22, 22): (1, 1, 20, 20, 30, 20, 1), (24, 24): (1, 1, 22, 22, 36, 24, 1),
    (26, 26): (1, 1, 24, 24, 44, 28, 1), (32, 32): (2, 2, 14, 14, 62, 36, 1),
    (36, 36): (2, 2, 16, 16, 86, 42, 1), (40, 40): (2, 2, 18, 18, 114, 48, 1),
    (44, 44): (2, 2, 20, 20, 144, 56, 1), (48, 48): (2, 2, 22, 22, 174, 68, 1),
    (52, 52): (2, 2, 24, 24, 204, 84, 2), (64, 64): (4, 4, 14, 14, 280, 112, 2),
    (72, 72): (4, 4, 16, 16, 368, 144, 4), (80, 80): (4, 4, 18, 18, 456, 192, 4),
    (88, 88): (4, 4, 20, 20, 576, 224, 4), (96, 96): (4, 4, 22, 22, 696, 272, 4),
    (104, 104): (4, 4, 24, 24, 816, 336, 6), (120, 120): (6, 6, 18, 18, 1050, 408, 6),
    (132, 132): (6, 6, 20, 20, 1304, 496, 8), (144, 144): (6, 6, 22, 22, 1558, 620, 10),
    (8, 18): (1, 1, 6, 16, 5, 7, 1), (8, 32): (1, 2, 6, 14, 10, 11, 1),
    (12, 26): (1, 1, 10, 24, 16, 14, 1), (12, 36): (1, 2, 10, 16, 22, 18, 1),
    (16, 36): (1, 2, 14, 16, 32, 24, 1), (16, 48): (1, 2, 14, 22, 49, 28, 1),
    # DMRE
    (8, 64): (1, 4, 6, 14, 24, 18, 1), (8, 96): (1, 4, 6, 22, 38, 28, 1),
    (8, 144): (1, 6, 6, 22, 63, 36, 1), (12, 64): (1, 4, 10, 14, 43, 27, 1),
    (12, 88): (1, 4, 10, 20, 64, 36, 1), (20, 44): (1, 2, 18, 20, 56, 34, 1),
    (20, 64): (1, 4, 18, 14, 84, 42, 1), (22, 48): (1, 2, 20, 22, 72, 38, 1),
    (24, 48): (1, 2, 22, 22, 80, 41, 1), (24, 64): (1, 4, 22, 14, 108, 46, 1),
    (26, 64): (1, 4, 24, 14, 118, 50, 1),
}

# QR Code model 2, versions 1..40: (blocks, EC codewords per block) for
# levels L, M, Q, H.  Checked by Reed-Solomon-decoding symbols of every
# version and level written by zxing-cpp.
_QR_BLOCKS = """
1 1/7 1/10 1/13 1/17|2 1/10 1/16 1/22 1/28|3 1/15 1/26 2/18 2/22|4 1/20 2/18 2/26 4/16
5 1/26 2/24 4/18 4/22|6 2/18 4/16 4/24 4/28|7 2/20 4/18 6/18 5/26|8 2/24 4/22 6/22 6/26
9 2/30 5/22 8/20 8/24|10 4/18 5/26 8/24 8/28|11 4/20 5/30 8/28 11/24|12 4/24 8/22 10/26 11/28
13 4/26 9/22 12/24 16/22|14 4/30 9/24 16/20 16/24|15 6/22 10/24 12/30 18/24|16 6/24 10/28 17/24 16/30
17 6/28 11/28 16/28 19/28|18 6/30 13/26 18/28 21/28|19 7/28 14/26 21/26 25/26|20 8/28 16/26 20/30 25/28
21 8/28 17/26 23/28 25/30|22 9/28 17/28 23/30 34/24|23 9/30 18/28 25/30 30/30|24 10/30 20/28 27/30 32/30
25 12/26 21/28 29/30 35/30|26 12/28 23/28 34/28 37/30|27 12/30 25/28 34/30 40/30|28 13/30 26/28 35/30 42/30
29 14/30 28/28 38/30 45/30|30 15/30 29/28 40/30 48/30|31 16/30 31/28 43/30 51/30|32 17/30 33/28 45/30 54/30
33 18/30 35/28 48/30 57/30|34 19/30 37/28 51/30 60/30|35 19/30 38/28 53/30 63/30|36 20/30 40/28 56/30 66/30
37 21/30 43/28 59/30 70/30|38 22/30 45/28 62/30 74/30|39 24/30 47/28 65/30 77/30|40 25/30 49/28 68/30 81/30
"""
QR_BLOCKS = {
    int(entry.split()[0]): dict(zip("LMQH", (tuple(int(n) for n in f.split("/")) for f in entry.split()[1:])))
    for entry in _QR_BLOCKS.replace("\n", "|").split("|") if entry.strip()
}
# Misdecode-protection codewords p of the smallest QR symbols (ISO/IEC 18004);
# 0 everywhere else and for Data Matrix (where zxing-cpp agrees: its UEC figure
# is 1 - 2t/d).
QR_P = {(1, "L"): 3, (1, "M"): 2, (1, "Q"): 1, (1, "H"): 1, (2, "L"): 2, (3, "L"): 1}


# ------------------------------------------------------- GF(256), Reed-Solomon
class _GF:
    """GF(256) antilog/log tables for one primitive polynomial."""

    def __init__(self, poly):
        self.exp = np.zeros(512, np.int64)
        self.log = np.zeros(256, np.int64)
        x = 1
        for i in range(255):
            self.exp[i] = x
            self.log[x] = i
            x <<= 1
            if x & 0x100:
                x ^= poly
        self.exp[255:510] = self.exp[:255]

    def mul(self, a, b):
        return 0 if a == 0 or b == 0 else int(self.exp[self.log[a] + self.log[b]])

    def inv(self, a):
        return int(self.exp[255 - self.log[a]])

    def eval(self, coeffs, x):  # coefficients lowest degree first
        y = 0
        for c in reversed(coeffs):
            y = self.mul(y, x) ^ c
        return y


GF_DM = _GF(0x12D)  # Data Matrix: x^8+x^5+x^3+x^2+1, roots alpha^1..alpha^d
GF_QR = _GF(0x11D)  # QR: x^8+x^4+x^3+x^2+1, roots alpha^0..alpha^(d-1)


def rs_decode(gf, block, n_ec, first_root):
    """Errors-only Reed-Solomon decode of one block (highest degree first).
    Returns (number of codewords in error, corrected block), or (None, block)
    when the block is beyond the code's capacity."""
    c = np.asarray(block, np.int64)
    n = len(c)
    degree = np.arange(n - 1, -1, -1)
    nz = c != 0
    synd = []
    for j in range(n_ec):  # syndromes, vectorised over the block
        e = (gf.log[c[nz]] + (j + first_root) * degree[nz]) % 255
        synd.append(int(np.bitwise_xor.reduce(gf.exp[e])) if e.size else 0)
    if not any(synd):
        return 0, c
    lam, prev, big_l, m, b = [1], [1], 0, 1, 1  # Berlekamp-Massey
    for i in range(n_ec):
        d = synd[i]
        for k in range(1, min(big_l, len(lam) - 1) + 1):
            d ^= gf.mul(lam[k], synd[i - k])
        if d == 0:
            m += 1
            continue
        coef = gf.mul(d, gf.inv(b))
        shifted = [0] * m + [gf.mul(coef, p) for p in prev]
        size = max(len(lam), len(shifted))
        new = [(lam[k] if k < len(lam) else 0) ^ (shifted[k] if k < len(shifted) else 0) for k in range(size)]
        if 2 * big_l <= i:
            prev, big_l, b, m = lam, i + 1 - big_l, d, 1
        else:
            m += 1
        lam = new
    while len(lam) > 1 and lam[-1] == 0:
        lam.pop()
    nu = len(lam) - 1
    if nu == 0 or 2 * nu > n_ec:
        return None, c
    locs = [pos for pos in range(n) if gf.eval(lam, int(gf.exp[(255 - degree[pos] % 255) % 255])) == 0]
    if len(locs) != nu:
        return None, c
    omega = [0] * n_ec  # Forney: error values
    for i, s in enumerate(synd):
        for k, lk in enumerate(lam):
            if i + k < n_ec:
                omega[i + k] ^= gf.mul(s, lk)
    dlam = [lam[k] if k % 2 else 0 for k in range(1, len(lam))]
    out = c.copy()
    for pos in locs:
        xinv = gf.inv(int(gf.exp[degree[pos] % 255]))
        den = gf.eval(dlam, xinv)
        if den == 0:
            return None, c
        mag = gf.mul(gf.eval(omega, xinv), gf.inv(den))
        if first_root != 1:
            mag = gf.mul(mag, int(gf.exp[((1 - first_root) * degree[pos]) % 255]))
        out[pos] ^= mag
    return nu, out


# ------------------------------------------------------------- symbol layouts
class _Layout:
    """Everything symbology-specific the grader needs about one symbol size:
    the intended colour of the fixed patterns, where each codeword's 8
    modules are, the Reed-Solomon blocks, the fixed-pattern tracks used for
    the grid and the fixed-pattern-damage segments."""

    kind = rows = cols = qz = None
    fixed = None  # (rows, cols): 1 dark, 0 light, -1 data / not fixed
    cw_modules = None  # (codewords, 8, 2) module (row, col), most significant bit first
    xor = None  # QR data mask over the symbol (None for Data Matrix)
    blocks = None  # [(codeword indices, EC codewords, p)]
    gf = first_root = None
    h_detail = v_detail = ()  # alternating tracks: rows (horizontal) / columns (vertical)
    segments = ()  # [(name, "count" | "fraction", (n, 2) module coordinates)]
    qz_segments = ()  # the quiet zone side by side (informative "quiet_zone" parameter)
    fit_zone = 0  # edges within this many modules of the outline place the symbol
    fit_edges = None  # {"h"/"v": (line, coordinate, dark->light?) arrays}

    def finish(self):
        """Collect the edges that place the symbol: along every row and
        column, known colour changes within fit_zone of the outline (Data
        Matrix: the symbol border against the quiet zone; QR: the finders)."""
        self.fit_edges = {}
        for axis, count, n in (("h", self.rows, self.cols), ("v", self.cols, self.rows)):
            lines, coords, rising = [], [], []
            for line in range(count):
                c, r = _expected_edges(self.colours(axis, line)[1], -self.qz)
                keep = (c <= self.fit_zone) | (c >= n - self.fit_zone)
                lines.extend([line] * int(keep.sum()))
                coords.extend(c[keep])
                rising.extend(r[keep])
            self.fit_edges[axis] = (np.array(lines, np.float64), np.array(coords, np.float64), np.array(rising, bool))
        return self

    def colours(self, axis, line):
        """Intended colours along one row ('h') or column ('v') including the
        quiet zone on both ends: (first index, array 1/0/-1)."""
        inner = self.fixed[line, :] if axis == "h" else self.fixed[:, line]
        return -self.qz, np.concatenate([np.zeros(self.qz, np.int64), inner, np.zeros(self.qz, np.int64)])


def _dm_placement(nrow, ncol):
    """ECC 200 module placement over the mapping matrix (the data regions
    without their finder/clock patterns): codeword * 8 + bit (bit 0 = most
    significant); -1 / -2 mark the fixed dark / light filler corner."""
    grid = np.full((nrow, ncol), -3, np.int64)

    def put(r, c, cw, bit):
        if r < 0:  # wrap-around rules of the placement algorithm
            r += nrow
            c += 4 - ((nrow + 4) % 8)
        if c < 0:
            c += ncol
            r += 4 - ((ncol + 4) % 8)
        grid[r, c] = cw * 8 + bit

    def shape(cells, cw):
        for bit, (r, c) in enumerate(cells):
            put(r, c, cw, bit)

    def standard(r, c, cw):  # the usual 8-module "L with a step" shape
        shape([(r - 2, c - 2), (r - 2, c - 1), (r - 1, c - 2), (r - 1, c - 1), (r - 1, c), (r, c - 2), (r, c - 1), (r, c)], cw)

    n, m = nrow, ncol
    corner = {
        1: [(n - 1, 0), (n - 1, 1), (n - 1, 2), (0, m - 2), (0, m - 1), (1, m - 1), (2, m - 1), (3, m - 1)],
        2: [(n - 3, 0), (n - 2, 0), (n - 1, 0), (0, m - 4), (0, m - 3), (0, m - 2), (0, m - 1), (1, m - 1)],
        3: [(n - 3, 0), (n - 2, 0), (n - 1, 0), (0, m - 2), (0, m - 1), (1, m - 1), (2, m - 1), (3, m - 1)],
        4: [(n - 1, 0), (n - 1, m - 1), (0, m - 3), (0, m - 2), (0, m - 1), (1, m - 3), (1, m - 2), (1, m - 1)],
    }
    cw, r, c = 0, 4, 0
    while r < n or c < m:
        for key, hit in ((1, r == n and c == 0), (2, r == n - 2 and c == 0 and m % 4),
                         (3, r == n - 2 and c == 0 and m % 8 == 4), (4, r == n + 4 and c == 2 and m % 8 == 0)):
            if hit:
                shape(corner[key], cw)
                cw += 1
        while r >= 0 and c < m:  # sweep up and to the right
            if r < n and c >= 0 and grid[r, c] == -3:
                standard(r, c, cw)
                cw += 1
            r, c = r - 2, c + 2
        r, c = r + 1, c + 3
        while r < n and c >= 0:  # sweep down and to the left
            if r >= 0 and c < m and grid[r, c] == -3:
                standard(r, c, cw)
                cw += 1
            r, c = r + 2, c - 2
        r, c = r + 3, c + 1
    if grid[n - 1, m - 1] == -3:  # unused 2x2 corner: fixed checkerboard
        grid[n - 1, m - 1] = grid[n - 2, m - 2] = -1
        grid[n - 1, m - 2] = grid[n - 2, m - 1] = -2
    return grid, cw


@lru_cache(maxsize=64)
def dm_layout(rows, cols):
    if (rows, cols) not in DM_SIZES:
        raise ValueError(f"Data Matrix size {rows}x{cols} is not supported by the grader")
    vr, hr, rr, rc, nd, ne, nb = DM_SIZES[(rows, cols)]
    mapping, ncw = _dm_placement(vr * rr, hr * rc)
    lay = _Layout()
    lay.kind, lay.rows, lay.cols, lay.qz = "DataMatrix", rows, cols, 1
    ri, ci = np.arange(vr * rr), np.arange(hr * rc)
    srow = (ri // rr) * (rr + 2) + 1 + ri % rr
    scol = (ci // rc) * (rc + 2) + 1 + ci % rc
    sym = np.full((rows, cols), -9, np.int64)
    sym[np.ix_(srow, scol)] = mapping
    fixed = np.full((rows, cols), -1, np.int64)
    tops = [k * (rr + 2) for k in range(vr)]
    bottoms = [t + rr + 1 for t in tops]
    lefts = [k * (rc + 2) for k in range(hr)]
    rights = [left + rc + 1 for left in lefts]
    for t in tops:
        fixed[t, :] = np.arange(cols) % 2 == 0  # clock track, dark first
    for left, right in zip(lefts, rights):
        fixed[:, left] = 1
        fixed[:, right] = (rows - 1 - np.arange(rows)) % 2 == 0  # dark at the bottom
    for b in bottoms:
        fixed[b, :] = 1  # solid finder / alignment rows win over the clock columns
    fixed[sym == -1] = 1
    fixed[sym == -2] = 0
    lay.fixed = fixed
    order = np.argsort(sym[sym >= 0], kind="stable")
    pos = np.argwhere(sym >= 0)[order]
    lay.cw_modules = pos.reshape(ncw, 8, 2)
    per = [np.arange(nd)[b::nb] for b in range(nb)]
    lay.blocks = [(np.concatenate([per[b], nd + np.arange(ne)[b::nb]]), ne // nb, 0) for b in range(nb)]
    lay.gf, lay.first_root = GF_DM, 1
    lay.h_detail, lay.v_detail = tuple(tops), tuple(rights)
    segs = []
    # L finder split per data region (the "segments"), its quiet zones, and
    # everything else fixed (clock tracks, alignment patterns, the quiet zone
    # along the clock tracks) as the clock-track-and-solid-area group.
    for k in range(vr):
        r = np.arange(tops[k], bottoms[k] + 1)
        segs.append(("L1" if vr == 1 else f"L1.{k + 1}", "count", np.stack([r, np.zeros_like(r)], 1)))
    for k in range(hr):
        c = np.arange(lefts[k], rights[k] + 1)
        segs.append(("L2" if hr == 1 else f"L2.{k + 1}", "count", np.stack([np.full_like(c, rows - 1), c], 1)))
    r = np.arange(0, rows + 1)
    segs.append(("QZL1", "count", np.stack([r, np.full_like(r, -1)], 1)))
    c = np.arange(0, cols)
    segs.append(("QZL2", "count", np.stack([np.full_like(c, rows), c], 1)))
    pattern = np.zeros((rows, cols), bool)
    pattern[list(tops) + list(bottoms), :] = True
    pattern[:, list(lefts) + list(rights)] = True
    pattern[:, 0] = pattern[rows - 1, :] = False  # L1 / L2 have their own segments
    other = np.argwhere(pattern)
    top_qz = np.stack([np.full(cols + 2, -1), np.arange(-1, cols + 1)], 1)
    right_qz = np.stack([np.arange(0, rows + 1), np.full(rows + 1, cols)], 1)
    segs.append(("OCTASA", "fraction", np.concatenate([other, top_qz, right_qz])))
    lay.segments = tuple(segs)
    lay.qz_segments = (segs[-3], segs[-2], ("QZT", "count", top_qz), ("QZR", "count", right_qz))
    return lay.finish()


def qr_alignment_centres(version):
    if version == 1:
        return []
    size = 17 + 4 * version
    n = version // 7 + 2
    step = 26 if version == 32 else 2 * -(-(size - 13) // (2 * (n - 1)))
    return [6] + [size - 7 - k * step for k in range(n - 2, -1, -1)]


def _qr_mask(mask_id, size):
    i, j = np.indices((size, size))
    return [
        (i + j) % 2 == 0, i % 2 == 0, j % 3 == 0, (i + j) % 3 == 0,
        (i // 2 + j // 3) % 2 == 0, (i * j) % 2 + (i * j) % 3 == 0,
        ((i * j) % 2 + (i * j) % 3) % 2 == 0, ((i + j) % 2 + (i * j) % 3) % 2 == 0,
    ][mask_id]


@lru_cache(maxsize=64)
def qr_layout(version, level, mask_id):
    if not 1 <= version <= 40 or level not in "LMQH" or not 0 <= mask_id <= 7:
        raise ValueError(f"QR version/level/mask {version!r}/{level!r}/{mask_id!r} not supported")
    size = 17 + 4 * version
    func = np.zeros((size, size), bool)
    fixed = np.full((size, size), -1, np.int64)
    finder = np.ones((7, 7), np.int64)
    finder[1:6, 1:6] = 0
    finder[2:5, 2:5] = 1
    corners = ((0, 0), (0, size - 7), (size - 7, 0))
    for r0, c0 in corners:
        fixed[r0:r0 + 7, c0:c0 + 7] = finder
    fixed[7, 0:8] = fixed[0:8, 7] = 0  # separators
    fixed[7, size - 8:] = fixed[0:8, size - 8] = 0
    fixed[size - 8, 0:8] = fixed[size - 8:, 7] = 0
    func[0:9, 0:9] = func[0:9, size - 8:] = func[size - 8:, 0:9] = True  # + format information
    func[6, :] = func[:, 6] = True
    alt = (np.arange(size) % 2 == 0).astype(np.int64)
    fixed[6, 8:size - 8] = alt[8:size - 8]
    fixed[8:size - 8, 6] = alt[8:size - 8]
    fixed[size - 8, 8] = 1  # the dark module
    align = np.ones((5, 5), np.int64)
    align[1:4, 1:4] = 0
    align[2, 2] = 1
    cs = qr_alignment_centres(version)
    for r in cs:
        for c in cs:
            if (r, c) not in ((6, 6), (6, size - 7), (size - 7, 6)):
                func[r - 2:r + 3, c - 2:c + 3] = True
                fixed[r - 2:r + 3, c - 2:c + 3] = align
    if version >= 7:
        func[0:6, size - 11:size - 8] = func[size - 11:size - 8, 0:6] = True
    order = []  # data placement: two-column strips from the right, alternating up/down
    col, up = size - 1, True
    while col > 0:
        if col == 6:
            col -= 1
        for y in (range(size - 1, -1, -1) if up else range(size)):
            for x in (col, col - 1):
                if not func[y, x]:
                    order.append((y, x))
        up, col = not up, col - 2
    nb, ecpb = QR_BLOCKS[version][level]
    ncw = len(order) // 8
    lay = _Layout()
    lay.kind, lay.rows, lay.cols, lay.qz = "QRCode", size, size, 4
    lay.fixed = fixed
    lay.cw_modules = np.array(order[:ncw * 8], np.int64).reshape(ncw, 8, 2)
    lay.xor = _qr_mask(mask_id, size)
    ndata = ncw - nb * ecpb
    sizes = [ndata // nb] * (nb - ndata % nb) + [ndata // nb + 1] * (ndata % nb)
    blocks, k = [[] for _ in range(nb)], 0
    for i in range(max(sizes)):  # de-interleave: data column-wise, then EC
        for b in range(nb):
            if i < sizes[b]:
                blocks[b].append(k)
                k += 1
    for i in range(ecpb):
        for b in range(nb):
            blocks[b].append(k)
            k += 1
    p = QR_P.get((version, level), 0)
    lay.blocks = [(np.array(bl, np.int64), ecpb, p) for bl in blocks]
    lay.gf, lay.first_root = GF_QR, 0
    lay.h_detail = lay.v_detail = (6,)
    segs = []
    for name, (r0, c0) in zip(("A1", "A2", "A3"), corners):
        r1, c1 = max(r0 - 1, 0), max(c0 - 1, 0)
        block = np.argwhere(np.ones((size, size), bool)[r1:min(r0 + 8, size), c1:min(c0 + 8, size)]) + (r1, c1)
        segs.append((name, "count", block))  # finder + its separator
    t = np.arange(8, size - 8)
    segs.append(("B1", "fraction", np.stack([np.full_like(t, 6), t], 1)))
    segs.append(("B2", "fraction", np.stack([t, np.full_like(t, 6)], 1)))
    amods = [(r + dr, c + dc) for r in cs for c in cs if (r, c) not in ((6, 6), (6, size - 7), (size - 7, 6))
             for dr in range(-2, 3) for dc in range(-2, 3)]
    if amods:
        segs.append(("C", "fraction", np.array(amods, np.int64)))
    ring = np.argwhere(np.ones((size + 8, size + 8), bool)) - 4
    ring = ring[(ring < 0).any(1) | (ring >= size).any(1)]
    segs.append(("QZ", "fraction", ring))
    lay.segments = tuple(segs)
    lay.qz_segments = (segs[-1],)
    lay.fit_zone = 7
    return lay.finish()


# ------------------------------------------------------------------- geometry
def _fit_homography(src, dst):
    """Least-squares homography (normalised DLT) mapping src (u, v) -> dst (x, y)."""
    def norm(p):
        c = p.mean(0)
        s = np.sqrt(2) / max(np.sqrt(((p - c) ** 2).sum(1)).mean(), 1e-9)
        return np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])
    ts, td = norm(src), norm(dst)
    s = np.c_[src, np.ones(len(src))] @ ts.T
    d = np.c_[dst, np.ones(len(dst))] @ td.T
    z = np.zeros_like(s)
    a = np.concatenate([np.c_[s, z, -d[:, :1] * s], np.c_[z, s, -d[:, 1:2] * s]])
    if len(a) < 9:  # 4 points: pad so the thin SVD still holds the null vector
        a = np.r_[a, np.zeros((9 - len(a), 9))]
    h = np.linalg.svd(a, full_matrices=False)[2][-1].reshape(3, 3)
    h = np.linalg.inv(td) @ h @ ts
    return h / h[2, 2]


def _apply(h, u, v):
    w = h[2, 0] * u + h[2, 1] * v + h[2, 2]
    return (h[0, 0] * u + h[0, 1] * v + h[0, 2]) / w, (h[1, 0] * u + h[1, 1] * v + h[1, 2]) / w


def _bilinear(img, x, y):
    """Image values at sub-pixel points (pixel centres at integer coordinates); NaN outside."""
    hgt, wid = img.shape
    inside = (x >= 0) & (x <= wid - 1) & (y >= 0) & (y <= hgt - 1)
    xc = np.where(inside, x, 0.0)
    yc = np.where(inside, y, 0.0)
    x0 = np.minimum(xc.astype(np.intp), wid - 2)
    y0 = np.minimum(yc.astype(np.intp), hgt - 2)
    fx, fy = xc - x0, yc - y0
    flat = img.ravel()
    i = y0 * wid + x0
    top = flat[i] + fx * (flat[i + 1] - flat[i])
    bottom = flat[i + wid] + fx * (flat[i + wid + 1] - flat[i + wid])
    return np.where(inside, top + fy * (bottom - top), np.nan)


def _corner_homography(result, rows, cols):
    """Module coordinates (u right, v down; the symbol spans [0,cols]x[0,rows]
    in the symbol's own orientation) -> image pixels, from the decoder's corners."""
    p = result.position
    pts = np.array([[q.x, q.y] for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)], np.float64)
    # zxing reports roughly the outermost symbol pixels; move half a pixel
    # outwards so the corners sit on the symbol's edges.
    pts += 0.5 * np.sign(pts - pts.mean(0))
    return _fit_homography(np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], np.float64), pts)


def _expected_edges(colours, first):
    """Boundaries where two known intended colours differ: coordinate along
    the track and whether it goes dark -> light with increasing coordinate."""
    k = np.flatnonzero((colours[:-1] >= 0) & (colours[1:] >= 0) & (colours[:-1] != colours[1:]))
    return first + k + 1.0, colours[k] == 1


def _profile(gray, h, axis, line, s):
    # Mean of three parallel profiles 0.2 X apart along a row ('h') or a
    # column ('v'); s = along-track module coordinates, line broadcasts with s.
    prof = np.zeros(np.shape(s))
    for off in (-0.2, 0.0, 0.2):
        a = np.broadcast_to(line + 0.5 + off, np.shape(s))
        prof += _bilinear(gray, *(_apply(h, s, a) if axis == "h" else _apply(h, a, s)))
    return prof / 3.0


def _window_edges(gray, h, axis, lines, coords, rising, threshold, spm):
    """Many expected edges at once: a short profile across each (+-0.75
    module) and the threshold crossing of the right polarity nearest to the
    expected position.  Returns (found mask, measured coordinates)."""
    t = np.arange(-(3 * spm) // 4, (3 * spm) // 4 + 1) / spm
    s = coords[:, None] + t
    d = _profile(gray, h, axis, lines[:, None], s) - threshold
    light = d > 0
    ok = ((light[:, :-1] != light[:, 1:]) & (light[:, 1:] == rising[:, None])
          & np.isfinite(d[:, :-1]) & np.isfinite(d[:, 1:]))
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = s[:, :-1] + d[:, :-1] / (d[:, :-1] - d[:, 1:]) / spm
    dist = np.where(ok, np.abs(pos - coords[:, None]), np.inf)
    j = dist.argmin(1)
    i = np.arange(len(coords))
    return dist[i, j] < 0.75, pos[i, j]


def _run_growth(cross, up):
    """Print growth from the widths of the single-module runs between
    successive threshold crossings: a dark run is D = p(1+g) wide and a
    light run L = p(1-g), so g = (D - L)/(D + L) with the median widths
    (robust to the long finder runs at the ends of a QR timing row)."""
    w = np.diff(cross)
    dark = w[~up[:-1] & up[1:]]  # light->dark then dark->light
    light = w[up[:-1] & ~up[1:]]
    if dark.size < 2 or light.size < 2:
        return None
    d, lt = float(np.median(dark)), float(np.median(light))
    return (d - lt) / (d + lt)


def _track_edges(gray, h, axis, line, first, colours, threshold, spm):
    """Every edge along one clock/timing track.  The whole track is profiled;
    edges are corrected for print growth (measured from the run widths) and
    followed one by one, each predicted from the displacement and trend of
    the previous ones, so a smooth displacement of more than half a module is
    still followed.  Returns (expected coordinates, measured growth-corrected
    coordinates, +1 dark->light / -1 light->dark, growth or None)."""
    n = len(colours)
    s = first + (np.arange(n * spm) + 0.5) / spm
    d = _profile(gray, h, axis, line, s) - threshold
    light = d > 0
    i = np.flatnonzero((light[:-1] != light[1:]) & np.isfinite(d[:-1]) & np.isfinite(d[1:]))
    cross = s[i] + d[i] / (d[i] - d[i + 1]) / spm
    up = light[i + 1]
    g = _run_growth(cross, up)
    corrected = cross - np.where(up, 1.0, -1.0) * (g or 0.0) / 2.0  # edges sit g/2 into the light side
    exp_pos, exp_rise = _expected_edges(colours, first)
    by_polarity = {True: corrected[up].tolist(), False: corrected[~up].tolist()}  # sorted
    found_e, found_m, found_p = [], [], []
    shift, slope, last = 0.0, 0.0, None
    for e, rise in zip(exp_pos.tolist(), exp_rise.tolist()):  # plain floats: this loop is hot
        cand = by_polarity[rise]
        pred = e + shift + (slope * (e - last) if last is not None else 0.0)
        j = bisect_left(cand, pred)
        best = min((cand[k] for k in (j - 1, j) if 0 <= k < len(cand)), key=lambda c: abs(c - pred), default=None)
        if best is not None and abs(best - pred) < 0.5:
            new = best - e
            if last is not None:
                slope = min(max((new - shift) / (e - last), -0.6), 0.6)
            shift, last = new, e
            found_e.append(e)
            found_m.append(best)
            found_p.append(1 if rise else -1)
    return np.array(found_e), np.array(found_m), np.array(found_p), g


def _axis_growth(tracks):
    # mean growth over the alternating tracks of one axis
    gs = [t[3] for t in tracks if t[3] is not None]
    return (float(np.mean(gs)), True) if gs else (0.0, False)


def _displacement(expected, measured, n, qz):
    """Along-track displacement (module units) of the centres of modules
    -qz .. n+qz-1 from the measured edges.  The symbol outline (coordinates
    0 and n) anchors the ends where the track has no edge of its own; an edge
    that jumps away from the line through its neighbours (a spot on a clock
    module) is dropped; gaps are interpolated, the quiet zone held."""
    dev = measured - expected if len(expected) else np.zeros(0)
    keep = np.ones(len(dev), bool)
    for i in range(1, len(dev) - 1):
        mid = dev[i - 1] + (dev[i + 1] - dev[i - 1]) * (expected[i] - expected[i - 1]) / (expected[i + 1] - expected[i - 1])
        if abs(dev[i] - mid) > 0.25:
            keep[i] = False
    pos, val = list(expected[keep]), list(dev[keep])
    for anchor in (0.0, float(n)):
        if anchor not in pos:
            pos.append(anchor)
            val.append(0.0)
    order = np.argsort(pos)
    centres = np.arange(-qz, n + qz) + 0.5
    return np.interp(centres, np.asarray(pos)[order], np.asarray(val)[order])


class _Grid:
    """The located grid: homography + measured along-track displacements."""

    def __init__(self, h, du_rows, du, dv_cols, dv, first):
        self.h = h
        self.du_rows, self.du = du_rows, du  # du[track, column]
        self.dv_cols, self.dv = dv_cols, dv  # dv[track, row]
        self.first = first

    def centres(self, rows, cols):
        """Image positions of module centres for row/col index arrays
        (may lie in the quiet zone, i.e. negative or beyond the symbol)."""
        rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
        ci = np.clip(cols - self.first, 0, self.du.shape[1] - 1)
        ri = np.clip(rows - self.first, 0, self.dv.shape[1] - 1)
        du = _between_tracks(self.du_rows, self.du, rows, ci)
        dv = _between_tracks(self.dv_cols, self.dv, cols, ri)
        return _apply(self.h, cols + 0.5 + du, rows + 0.5 + dv)


def _between_tracks(track_pos, values, across, along):
    # Linear interpolation between parallel tracks; held beyond the outer ones.
    if len(track_pos) == 1:
        return values[0][along]
    tp = np.asarray(track_pos, np.float64)
    a = np.clip(across, tp[0], tp[-1]).astype(np.float64)
    j = np.clip(np.searchsorted(tp, a, side="right") - 1, 0, len(tp) - 2)
    w = (a - tp[j]) / (tp[j + 1] - tp[j])
    return values[j, along] * (1 - w) + values[j + 1, along] * w


def _prefer_affine(h, src, dst, lay, x_px):
    """An affine map unless perspective is clearly present: with only a few
    dozen edge points, the two extra homography terms otherwise follow
    sub-pixel edge noise and tilt the module pitch (biasing AN and GN)."""
    a = np.c_[src, np.ones(len(src))]
    coef, *_ = np.linalg.lstsq(a, dst, rcond=None)
    aff = np.r_[coef.T, [[0.0, 0.0, 1.0]]]
    u = np.array([0.0, lay.cols, lay.cols, 0.0])
    v = np.array([0.0, 0.0, lay.rows, lay.rows])
    gap = np.hypot(*(np.column_stack(_apply(h, u, v)) - np.column_stack(_apply(aff, u, v))).T).max()
    return h if gap > 0.1 * x_px else aff


def locate_grid(gray, lay, h0, threshold, x_px):
    """Place the symbol from its outline against the quiet zone (QR: the
    finder patterns) — two passes, each refitting the map and dropping edges
    of damaged patterns — then measure the clock/timing module centres along
    the alternating tracks.  Returns the grid, the print growth per axis
    ((value, measured?) each) and the number of edge points used."""
    spm = int(max(8, np.ceil(2.0 * x_px)))  # profile samples per module: <= 0.5 px apart
    h, n_used = h0, 0
    growth = [(0.0, False), (0.0, False)]
    for _ in range(2):
        detail = {}
        for axis, lines in (("h", lay.h_detail), ("v", lay.v_detail)):
            detail[axis] = [_track_edges(gray, h, axis, t, *lay.colours(axis, t), threshold, spm) for t in lines]
        growth = [_axis_growth(detail["h"]), _axis_growth(detail["v"])]
        src, dst = [], []
        for axis, g in (("h", growth[0][0]), ("v", growth[1][0])):
            lines, coords, rising = lay.fit_edges[axis]
            found, meas = _window_edges(gray, h, axis, lines, coords, rising, threshold, spm)
            meas = meas - np.where(rising, 1.0, -1.0) * g / 2.0  # an edge sits half the growth into the light side
            a = lines[found] + 0.5
            m = meas[found]
            src.append(np.c_[coords[found], a] if axis == "h" else np.c_[a, coords[found]])
            dst.append(np.column_stack(_apply(h, m, a) if axis == "h" else _apply(h, a, m)))
        src, dst = np.concatenate(src), np.concatenate(dst)
        if len(src) < 8:
            break
        keep = np.ones(len(src), bool)
        for _ in range(3):  # drop edges of damaged patterns, refit
            hn = _fit_homography(src[keep], dst[keep])
            res = np.hypot(*(np.column_stack(_apply(hn, src[:, 0], src[:, 1])) - dst).T)
            new = res < max(0.15 * x_px, 3.0 * np.median(res[keep]))
            if new.sum() < 8 or (new == keep).all():
                break
            keep = new
        h, n_used = _prefer_affine(hn, src[keep], dst[keep], lay, x_px), int(keep.sum())
    disp = []
    for axis, lines, n in (("h", lay.h_detail, lay.cols), ("v", lay.v_detail, lay.rows)):
        tracks = [_track_edges(gray, h, axis, t, *lay.colours(axis, t), threshold, spm) for t in lines]
        disp.append(np.array([_displacement(e, m, n, lay.qz) for e, m, _p, _g in tracks]))
        growth[0 if axis == "h" else 1] = _axis_growth(tracks)
    grid = _Grid(h, np.array(lay.h_detail), disp[0], np.array(lay.v_detail), disp[1], -lay.qz)
    return grid, growth, n_used


# ------------------------------------------------------------------- sampling
def _aperture_offsets(diameter_px):
    # Points on a sub-pixel lattice inside the circular aperture.
    r = diameter_px / 2.0
    step = max(0.5, r / 5.0)
    k = np.arange(-np.floor(r / step), np.floor(r / step) + 1) * step
    dx, dy = np.meshgrid(k, k)
    inside = dx ** 2 + dy ** 2 <= r ** 2 + 1e-9
    return dx[inside], dy[inside]


def sample_grid(gray, grid, lay, diameter_px):
    """Mean grey value through the aperture at every module centre of the
    symbol plus its quiet-zone ring; NaN where the aperture leaves the image."""
    q = lay.qz
    r, c = np.mgrid[-q:lay.rows + q, -q:lay.cols + q]
    x, y = grid.centres(r, c)
    dx, dy = _aperture_offsets(diameter_px)
    vals = _bilinear(gray, x[..., None] + dx, y[..., None] + dy)
    return vals.mean(-1)  # NaN if any aperture point was outside


# ------------------------------------------------------------ decode & ideal
def read_codewords(dark, lay):
    """Codeword values from the binarised symbol (QR: data mask removed)."""
    bits = dark[lay.cw_modules[..., 0], lay.cw_modules[..., 1]]
    if lay.xor is not None:
        bits = bits ^ lay.xor[lay.cw_modules[..., 0], lay.cw_modules[..., 1]]
    return (bits.astype(np.int64) << np.arange(7, -1, -1)).sum(1)


def correct_codewords(codewords, lay):
    """Reed-Solomon per block: errors per block (None = beyond capacity) and
    the corrected codeword list (uncorrectable blocks left as read)."""
    fixed = codewords.copy()
    errors = []
    for idx, n_ec, _p in lay.blocks:
        t, out = rs_decode(lay.gf, codewords[idx], n_ec, lay.first_root)
        errors.append(t)
        if t is not None:
            fixed[idx] = out
    return errors, fixed


def ideal_dark(dark, corrected, lay):
    """Intended colour of every symbol module: fixed patterns as specified,
    data modules from the corrected codewords (format/version information of
    QR: as read)."""
    ideal = dark.copy()
    known = lay.fixed >= 0
    ideal[known] = lay.fixed[known] == 1
    bits = ((corrected[:, None] >> np.arange(7, -1, -1)) & 1).astype(bool)
    rr, cc = lay.cw_modules[..., 0], lay.cw_modules[..., 1]
    if lay.xor is not None:
        bits = bits ^ lay.xor[rr, cc]
    ideal[rr, cc] = bits
    return ideal


# ----------------------------------------------------------------- parameters
def symbol_contrast(refl):
    """SC = Rmax - Rmin over the sampled grid including the quiet zone."""
    rmax, rmin = float(np.nanmax(refl)), float(np.nanmin(refl))
    return rmax - rmin, rmax, rmin


def module_modulation(refl, gt, sc):
    """Per module 2|R - GT| / SC."""
    return 2.0 * np.abs(refl - gt) / sc if sc > 0 else np.zeros_like(refl)


def module_margin(refl, gt, sc, ideal):
    """Per module reflectance margin: like modulation, but 0 when the module
    is on the wrong side of GT for its intended colour."""
    signed = np.where(ideal, gt - refl, refl - gt)
    return 2.0 * np.clip(signed, 0, None) / sc if sc > 0 else np.zeros_like(refl)


def _uec(e, t, d, p):
    return 1.0 - (e + 2.0 * t) / (d - p) if d > p else 0.0


def unused_error_correction(errors, lay):
    """Per block 1 - (e + 2t)/(d - p) with e = 0 erasures (errors-only
    decoding), t = corrected codewords; the worst block counts."""
    worst = 1.0
    for t, (_idx, d, p) in zip(errors, lay.blocks):
        worst = min(worst, 0.0 if t is None else _uec(0, t, d, p))
    return max(worst, 0.0)


def codeword_graded(module_values, name, lay):
    """The 15415 codeword step for MOD and RM: a codeword takes its worst
    module's grade; at each grade level the codewords below it are counted
    as erasures and the notional UEC 1 - e/(d - p) is graded; the parameter
    grade is the best min(level, notional UEC grade).  (Wrong-colour modules
    have RM 0, so they are erasures for RM; MOD ignores colour - that is
    what RM was added for.)  Returns (grade, {level: notional UEC})."""
    g = _band_array(name, module_values[lay.cw_modules[..., 0], lay.cw_modules[..., 1]]).min(1)
    best, notional = 0, {}
    for level in (4, 3, 2, 1):
        worst = 1.0
        for idx, d, p in lay.blocks:
            worst = min(worst, _uec(int((g[idx] < level).sum()), 0, d, p))
        notional[level] = round(max(worst, 0.0), 3)
        best = max(best, min(level, band("unused_error_correction", worst)))
    return best, notional


def _segment_grade(grades, kind):
    # a segment at each level: its damaged modules (grade below the level)
    # counted or as a fraction; the best min(level, damage grade)
    best = 0
    for level in (4, 3, 2, 1):
        damaged = int((grades < level).sum())
        if kind == "count":
            lg = band("fpd_segment_count", damaged)
        else:
            lg = band("fpd_segment_fraction", damaged / len(grades))
        best = max(best, min(level, lg))
    return best


def _cell_grades(mod_grade_ext, wrong_ext, cells, q):
    # per-module grade of fixed-pattern cells: MOD grade, 0 if wrong colour or missing
    g = mod_grade_ext[cells[:, 0] + q, cells[:, 1] + q].copy()
    g[wrong_ext[cells[:, 0] + q, cells[:, 1] + q]] = 0
    return g


def fixed_pattern_damage(mod_grade_ext, wrong_ext, lay):
    """Segment grades (damaged = wrong colour, outside the image, or
    modulation below the level under test), their average grade AG, and
    FPD = the lowest of all."""
    seg = {name: _segment_grade(_cell_grades(mod_grade_ext, wrong_ext, cells, lay.qz), kind)
           for name, kind, cells in lay.segments}
    ag = float(np.mean(list(seg.values())))
    return min(min(seg.values()), band("fpd_average", ag)), ag, seg


def quiet_zone(mod_grade_ext, wrong_ext, lay):
    """Informative: the quiet zone on its own (it is graded inside FPD).
    Value = quiet-zone modules on the wrong side of GT or outside the image;
    grade = the worst quiet-zone side, each graded like QZL1 (QR: the ring)."""
    worst, damaged = 4, 0
    for _name, kind, cells in lay.qz_segments:
        g = _cell_grades(mod_grade_ext, wrong_ext, cells, lay.qz)
        damaged += int((g == 0).sum())
        worst = min(worst, _segment_grade(g, kind))
    return damaged, worst


def grid_geometry(grid, lay):
    """Axial and grid non-uniformity from the located module centres.
    X_AVG / Y_AVG: average spacing of adjacent centres along rows / columns
    (first-to-last distance over the count of steps, averaged); AN =
    |X_AVG - Y_AVG| / mean.  The ideal grid for GN is the least-squares
    affine (uniformly spaced) grid through all centres; GN = the largest
    distance of a centre from it, in X."""
    r, c = np.mgrid[0:lay.rows, 0:lay.cols]
    x, y = grid.centres(r, c)
    xavg = float(np.hypot(x[:, -1] - x[:, 0], y[:, -1] - y[:, 0]).mean()) / (lay.cols - 1)
    yavg = float(np.hypot(x[-1, :] - x[0, :], y[-1, :] - y[0, :]).mean()) / (lay.rows - 1)
    xdim = (xavg + yavg) / 2.0
    a = np.c_[c.ravel() + 0.5, r.ravel() + 0.5, np.ones(r.size)]
    pts = np.c_[x.ravel(), y.ravel()]
    coef, *_ = np.linalg.lstsq(a, pts, rcond=None)
    res = np.hypot(*(a @ coef - pts).T)
    return abs(xavg - yavg) / xdim, float(res.max()) / xdim, xavg, yavg


# --------------------------------------------------------------------- driver
# the ISO/IEC 15415:2011 parameters whose lowest grade is the symbol grade
_GRADED = ("decode", "symbol_contrast", "modulation", "reflectance_margin", "fixed_pattern_damage",
           "axial_nonuniformity", "grid_nonuniformity", "unused_error_correction")
# reported only: print growth (not graded in 2011), the quiet zone on its own (it is inside FPD)
_PARAMETERS = _GRADED + ("print_growth", "quiet_zone")


def _find_symbol(gray):
    import zxingcpp  # imported here: only needed when the caller has no decode result

    img = np.clip(gray, 0, 255).astype(np.uint8)
    formats = (zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode)
    # the default local binarizer first; the global ones rescue symbols its
    # detector misses (e.g. non-square modules).  Dark-on-light only: the
    # grader's fixed patterns and quiet zone assume printed (dark) modules.
    for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram,
                      zxingcpp.Binarizer.FixedThreshold):
        found = zxingcpp.read_barcodes(img, formats=formats, binarizer=binarizer, try_invert=False)
        if found:
            return found[0]
    return None


def _layout_for(result):
    fmt = str(result.format).replace(" ", "").lower()
    extra = result.extra or {}
    if fmt == "datamatrix":
        rows, cols = (int(n) for n in str(extra["Version"]).split("x"))
        return dm_layout(rows, cols), []
    if fmt == "qrcode":
        version = int(extra["Version"])
        level = extra.get("ECLevel") or result.ec_level
        mask = extra.get("DataMask")
        if mask is None:
            return None, [version, level]  # resolved from the grid by trying all masks
        return qr_layout(version, level, int(mask)), []
    raise ValueError(f"grade_2d grades Data Matrix and QR Code, not {result.format}")


def _empty(notes, aperture_x):
    params = {name: {"value": None, "grade": None} for name in _PARAMETERS}
    params["decode"] = {"value": 0.0, "grade": 0}
    if aperture_x is None or isinstance(aperture_x, str):
        aperture_x = 0.8
    return {"parameters": params, "grade": 0.0, "grid": None, "x_dim_px": None, "aperture_x": aperture_x,
            "aperture_ref": None, "relative": True, "symbology": None, "edition": EDITION, "notes": notes}


def _aperture_px(aperture, dpi, x_px, notes):
    """Aperture diameter in pixels and its GS1/ISO reference (mils, e.g.
    "08") when one was applied: None -> 0.8 X; a number -> that fraction of
    X; a string -> mils, which needs the image dpi."""
    if aperture is None:
        return 0.8 * x_px, None
    if isinstance(aperture, str):
        if not dpi:
            notes.append(f"aperture {aperture} mil given without dpi: 0.8 X used instead")
            return 0.8 * x_px, None
        return int(aperture) / 1000.0 * dpi, f"{int(aperture):02d}"
    return float(aperture) * x_px, None


def grade_2d(gray, result=None, calibration=None, aperture=None, x_dim_px=None, *, dpi=None):
    """Grade one Data Matrix / QR symbol in a greyscale image (float 0-255,
    see reflectance.to_gray).  `result` is a zxing-cpp result for that symbol
    (its corners locate it); without one the image is decoded here.
    `aperture`: diameter as a fraction of X (default 0.8) or a GS1 aperture
    reference string in mils such as "08" together with `dpi`.
    `x_dim_px`: nominal X in pixels for the aperture (default: measured).
    Returns {"parameters": {name: {"value", "grade"}}, "grade", "grid",
    "x_dim_px", "aperture_x", "relative", "symbology", "edition", "notes"}."""
    if not (isinstance(gray, np.ndarray) and gray.ndim == 2 and gray.dtype == np.float64):
        gray = to_gray(gray)  # (a float image is used as is: no copy of a whole label)
    notes = []
    relative = calibration is None
    if relative:
        notes.append("relative reflectance: pixel 255 = 100 %, no calibration card")
    if result is None:
        result = _find_symbol(gray)
    if result is None or not getattr(result, "valid", True):
        out = _empty(notes + ["no Data Matrix or QR Code decoded in the image"], aperture)
        out["relative"] = relative
        return out
    lay, qr_pending = _layout_for(result)
    rows, cols = (lay.rows, lay.cols) if lay else (17 + 4 * qr_pending[0],) * 2
    if lay is None:
        lay = qr_layout(qr_pending[0], qr_pending[1], 0)  # geometry does not depend on the mask
    h0 = _corner_homography(result, rows, cols)
    x0 = float(np.mean([np.hypot(*np.subtract(_apply(h0, 1, 0), _apply(h0, 0, 0))),
                        np.hypot(*np.subtract(_apply(h0, 0, 1), _apply(h0, 0, 0)))]))
    # a first threshold for edge finding: midpoint of the grey levels at the
    # corner-grid module centres
    rr, cc = np.mgrid[-1:rows + 1, -1:cols + 1]
    first = _bilinear(gray, *_apply(h0, cc + 0.5, rr + 0.5))
    lo, hi = np.nanpercentile(first, [2, 98])
    grid, growth, n_edges = locate_grid(gray, lay, h0, (lo + hi) / 2.0, x0)
    an, gn, xavg, yavg = grid_geometry(grid, lay)
    xdim = (xavg + yavg) / 2.0
    ap_px, aperture_ref = _aperture_px(aperture, dpi, x_dim_px or xdim, notes)
    aperture_x = ap_px / xdim

    raw = sample_grid(gray, grid, lay, ap_px)
    refl = reflectance(raw, calibration) if calibration is not None else reflectance(raw)
    outside = np.isnan(refl)
    q = lay.qz
    if outside[q:q + rows, q:q + cols].mean() > 0.5:
        out = _empty(notes + ["the decoded symbol lies mostly outside the image: not graded"], aperture)
        out["parameters"]["decode"] = {"value": 1.0, "grade": 4, "decoder": "zxing-cpp", "own_rs_decode": False}
        out["relative"] = relative
        return out
    if outside.any():
        notes.append(f"{int(outside.sum())} quiet-zone/symbol samples fall outside the image")
    sc, rmax, rmin = symbol_contrast(refl)
    gt = (rmax + rmin) / 2.0
    sym = refl[q:q + rows, q:q + cols]
    dark = np.nan_to_num(sym, nan=100.0) < gt

    if qr_pending:  # mask unknown: take the one that decodes with fewest errors
        best = None
        for mask in range(8):
            cand = qr_layout(qr_pending[0], qr_pending[1], mask)
            errs, _ = correct_codewords(read_codewords(dark, cand), cand)
            score = sum(99 if e is None else e for e in errs)
            best = min(best or (score, mask), (score, mask))
        lay = qr_layout(qr_pending[0], qr_pending[1], best[1])
    codewords = read_codewords(dark, lay)
    errors, corrected = correct_codewords(codewords, lay)
    ideal = ideal_dark(dark, corrected, lay)
    if any(e is None for e in errors):
        failed = sum(e is None for e in errors)
        notes.append(f"own Reed-Solomon decode of the sampled grid failed in {failed} of {len(errors)} blocks; UEC graded 0")

    mod = module_modulation(sym, gt, sc)
    rm = module_margin(sym, gt, sc, ideal)
    mod_grade, mod_notional = codeword_graded(mod, "modulation", lay)
    rm_grade, rm_notional = codeword_graded(rm, "reflectance_margin", lay)
    # fixed-pattern damage works on the extended grid (quiet zone = light)
    ideal_ext = np.zeros(refl.shape, bool)
    ideal_ext[q:q + rows, q:q + cols] = ideal
    wrong_ext = outside | ((np.nan_to_num(refl, nan=0.0) < gt) != ideal_ext)
    mod_ext_grade = _band_array("modulation", module_modulation(refl, gt, sc))
    fpd_grade, ag, segments = fixed_pattern_damage(mod_ext_grade, wrong_ext, lay)
    qz_damaged, qz_grade = quiet_zone(mod_ext_grade, wrong_ext, lay)
    uec = unused_error_correction(errors, lay)
    data_mod = mod[lay.cw_modules[..., 0], lay.cw_modules[..., 1]]
    data_rm = rm[lay.cw_modules[..., 0], lay.cw_modules[..., 1]]
    (gx, okx), (gy, oky) = growth
    if not (okx and oky):
        notes.append("print growth: too few clean clock/timing modules on one axis")

    params = {
        "decode": {"value": 1.0, "grade": 4, "decoder": "zxing-cpp",
                   "own_rs_decode": all(e is not None for e in errors)},
        "symbol_contrast": {"value": round(sc, 2), "grade": band("symbol_contrast", sc),
                            "rmax": round(rmax, 2), "rmin": round(rmin, 2), "global_threshold": round(gt, 2)},
        "modulation": {"value": round(float(np.nanmin(data_mod)), 3), "grade": mod_grade,
                       "notional_uec": mod_notional},
        "reflectance_margin": {"value": round(float(np.nanmin(data_rm)), 3), "grade": rm_grade,
                               "notional_uec": rm_notional},
        "fixed_pattern_damage": {"value": round(ag, 3), "grade": fpd_grade, "segments": segments},
        "axial_nonuniformity": {"value": round(an, 4), "grade": band("axial_nonuniformity", an),
                                "x_avg_px": round(xavg, 3), "y_avg_px": round(yavg, 3)},
        "grid_nonuniformity": {"value": round(gn, 3), "grade": band("grid_nonuniformity", gn)},
        "unused_error_correction": {"value": round(uec, 3), "grade": band("unused_error_correction", uec),
                                    "errors_per_block": errors,
                                    # zxing-cpp 3.1's own figure, for comparison only: it is
                                    # 1 - 2t/d truncated, and values below 0.1 lose their
                                    # leading zero (0.09 reads "0.9")
                                    "zxing_uec": (result.extra or {}).get("UEC")},
        "print_growth": {"value": round((gx + gy) / 2.0, 3), "grade": None,
                         "horizontal": round(gx, 3), "vertical": round(gy, 3)},
        "quiet_zone": {"value": qz_damaged, "grade": qz_grade, "informative": True},
    }
    overall = float(min(params[name]["grade"] for name in _GRADED))
    return {"parameters": params, "grade": overall, "grid": (rows, cols), "x_dim_px": round(xdim, 3),
            "aperture_x": round(aperture_x, 3), "aperture_ref": aperture_ref, "relative": relative,
            "symbology": lay.kind,
            "edition": EDITION, "edges_used": n_edges, "notes": notes}
