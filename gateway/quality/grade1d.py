"""ISO/IEC 15416-style grading of a linear symbol (GS1-128 / Code 128,
EAN-13 / UPC-A / EAN-8, ITF-14 / ITF) from an image.

Ten scan reflectance profiles (SRPs) are taken across the inspection band
(10-90 % of the bar height) through a synthetic circular aperture; each
profile is graded on decode, Rmin/Rmax, symbol contrast, minimum edge
contrast, modulation, defects, decodability and quiet zones; a profile's
grade is its lowest parameter grade and the symbol grade is the mean of the
ten.  Element edges, widths and the reference decode (Code 128 symbol
characters, start / stop / check character; EAN/UPC; ITF) are computed here
from the profile, not taken from the reader.

These are ISO-based measurements from an image, not a certified verifier:
without a `Calibration` reflectances are relative to pixel 0-255, and the
optics (aperture, wavelength, angle) are those of the camera.  Grade bands
are those of ISO/IEC 15416:2000 (integer grade per profile); what differs
from the standard is listed in docs/quality-1d.md.
"""

from dataclasses import dataclass, field

import numpy as np

from gateway.quality.reflectance import reflectance, to_gray

EDITION = "ISO/IEC 15416:2000 grade bands (integer grade per scan profile, symbol grade = mean)"

# -- thresholds (data) -------------------------------------------------------
# Graded parameters: value limits for grades 4, 3, 2, 1 (below the last: 0).
HIGHER_IS_BETTER = {
    "symbol_contrast": (70.0, 55.0, 40.0, 20.0),  # SC, % reflectance
    "modulation": (0.70, 0.60, 0.50, 0.40),  # ECmin / SC
    "decodability": (0.62, 0.50, 0.37, 0.25),  # V
}
LOWER_IS_BETTER = {
    "defects": (0.15, 0.20, 0.25, 0.30),  # ERNmax / SC
}
# Pass (4) / fail (0) parameters.
RMIN_RATIO_MAX = 0.5  # Rmin <= 0.5 Rmax
EDGE_CONTRAST_MIN = 15.0  # ECmin >= 15 %
QZ_TOLERANCE_X = 0.05  # edge positions are interpolated; allow 0.05 X of measurement noise

PARAMETERS = ("decode", "rmin_rmax", "symbol_contrast", "edge_contrast", "modulation",
              "defects", "decodability", "quiet_zone")
# How the symbol-level "value" of each parameter is summarised over the ten profiles.
WORST_IS = {"decode": "mean", "rmin_rmax": "max", "symbol_contrast": "min", "edge_contrast": "min",
            "modulation": "min", "defects": "max", "decodability": "min", "quiet_zone": "min"}

N_SCANS = 10
INSPECTION_BAND = (0.10, 0.90)
DEFAULT_APERTURE_X = 0.5
LETTERS = ((3.5, "A"), (2.5, "B"), (1.5, "C"), (0.5, "D"), (-1.0, "F"))

# Minimum quiet zones in X, (leading, trailing) in reading direction
# (ISO/IEC 15417, 15420, 16390 / GS1 General Specifications).
SYMBOLOGIES = {
    "code128": {"name": "Code 128", "qz": (10.0, 10.0)},
    "ean13": {"name": "EAN-13", "qz": (11.0, 7.0)},
    "upca": {"name": "UPC-A", "qz": (9.0, 9.0)},
    "ean8": {"name": "EAN-8", "qz": (7.0, 7.0)},
    "itf": {"name": "ITF", "qz": (10.0, 10.0)},
    "itf14": {"name": "ITF-14", "qz": (10.0, 10.0)},
}
FORMAT_TO_SYMBOLOGY = {"code128": "code128", "ean13": "ean13", "upca": "upca", "ean8": "ean8",
                       "itf": "itf", "itf14": "itf14"}


def band_grade(name, value):
    """Value -> integer grade 0-4 for a banded parameter (thresholds above)."""
    if value is None or not np.isfinite(value):
        return 0
    if name in HIGHER_IS_BETTER:
        limits = HIGHER_IS_BETTER[name]
        return next((4 - i for i, lim in enumerate(limits) if value >= lim - 1e-9), 0)
    limits = LOWER_IS_BETTER[name]
    return next((4 - i for i, lim in enumerate(limits) if value <= lim + 1e-9), 0)


def letter(grade):
    return next(ch for floor, ch in LETTERS if grade >= floor)


# -- Code 128 tables ---------------------------------------------------------
# Element widths (bar, space, bar, space, bar, space) of values 0-105; 106 is
# the stop (7 elements, ending in the 2-module terminating bar).
_C128_WIDTHS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232 2331112"
).split()
C128_START = {103: "A", 104: "B", 105: "C"}
C128_STOP = 106


def _e_key(e1, e2, e3, e4):
    return ((e1 * 8 + e2) * 8 + e3) * 8 + e4


def _build_code128_tables():
    # Lookup by the four normalised edge-to-similar-edge values E1..E4, as the
    # reference decode does; plus each value's bar module sum (self-check) and
    # nominal bar widths (for print growth).
    lut = np.full(8 ** 4, -1, dtype=np.int16)
    bar_sum = np.zeros(107, dtype=np.int16)
    bars = np.zeros((107, 3), dtype=np.int16)
    for value, pattern in enumerate(_C128_WIDTHS):
        w = [int(c) for c in pattern[:6]]
        key = _e_key(w[0] + w[1], w[1] + w[2], w[2] + w[3], w[3] + w[4])
        if lut[key] != -1:
            raise AssertionError("Code 128 table: E-key collision")  # the table is wrong
        lut[key] = value
        bar_sum[value] = w[0] + w[2] + w[4]
        bars[value] = (w[0], w[2], w[4])
    return lut, bar_sum, bars


C128_LUT, C128_BAR_SUM, C128_BARS = _build_code128_tables()

# -- EAN/UPC tables ----------------------------------------------------------
# Set A ("L", odd parity) widths space-bar-space-bar; set C ("R") has the
# same widths starting with a bar; set B ("G") is set C reversed.
_EAN_L = ("3211", "2221", "2122", "1411", "1132", "1231", "1114", "1312", "1213", "3112")
_EAN_FIRST_DIGIT = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
                    "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")


def _build_ean_tables():
    # (E1, E2) -> candidates [(digit, set, nominal bar modules)].  Pairs 1/7
    # and 2/8 share (E1, E2) and are told apart by their bar widths.
    left, right = {}, {}
    for digit, pat in enumerate(_EAN_L):
        w = [int(c) for c in pat]
        g = w[::-1]
        left.setdefault((w[0] + w[1], w[1] + w[2]), []).append((digit, "L", w[1] + w[3]))
        left.setdefault((g[0] + g[1], g[1] + g[2]), []).append((digit, "G", g[1] + g[3]))
        right.setdefault((w[0] + w[1], w[1] + w[2]), []).append((digit, "R", w[0] + w[2]))
    return left, right


EAN_LEFT, EAN_RIGHT = _build_ean_tables()

# -- ITF table ---------------------------------------------------------------
_ITF_PATTERNS = ("nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn")
ITF_DIGIT = {p: d for d, p in enumerate(_ITF_PATTERNS)}


# -- reference decoders ------------------------------------------------------
@dataclass
class Decoded:
    n_elements: int  # elements of the symbol, first bar to last bar
    modules: float  # symbol width in modules (X = width / modules)
    data: bytes
    symbology_id: str
    decodability: float
    growth_x: float  # mean bar width minus nominal, in modules (print growth)
    extra: dict = field(default_factory=dict)


def _gs1_mod10(digits):
    # GS1 check digit over all digits but the last (weights 3,1 from the right).
    body = [int(c) for c in digits[:-1]]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == int(digits[-1])


def decode_code128(w):
    """Code 128 reference decode (ISO/IEC 15417) on element widths starting
    at the first bar.  Each symbol character: p = sum of its six widths;
    e1..e4 = edge-to-similar-edge distances (bar+space, space+bar, ...);
    Ei = ei normalised to 11/p and rounded (2..7), looked up; the sum of the
    three bars must lie within ±1.75 modules of the character's.  Decodability
    per character: 1 - 2·max|ei·11/p - Ei| (the margin left before a
    measurement crosses a reference threshold (j+0.5)p/11), symbol V = min.
    -> Decoded or None."""
    m = len(w) // 6
    if m < 3:
        return None
    W = np.asarray(w[: 6 * m], dtype=np.float64).reshape(m, 6)
    p = W.sum(axis=1)
    z = p / 11.0
    en = (W[:, :4] + W[:, 1:5]) / z[:, None]
    E = np.floor(en + 0.5).astype(np.int64)
    in_range = ((E >= 2) & (E <= 7)).all(axis=1)
    keys = _e_key(*(np.clip(E, 0, 7).T))
    values = np.where(in_range, C128_LUT[keys], -1)
    stops = np.nonzero(values == C128_STOP)[0]
    if not len(stops) or stops[0] < 2:
        return None
    k = int(stops[0])
    vals = values[: k + 1]
    if (vals < 0).any() or int(vals[0]) not in C128_START or (vals[1:k] >= 103).any():
        return None
    bar_meas = W[: k + 1, [0, 2, 4]]
    if (np.abs(bar_meas.sum(axis=1) / z[: k + 1] - C128_BAR_SUM[vals]) >= 1.75).any():
        return None
    checksum = (int(vals[0]) + sum(i * int(v) for i, v in enumerate(vals[1 : k - 1], start=1))) % 103
    if checksum != int(vals[k - 1]):
        return None
    if 6 * k + 6 >= len(w):
        return None
    terminal = w[6 * k + 6] / z[k]
    if not 1.0 <= terminal <= 3.0:
        return None
    margin = 1.0 - 2.0 * np.abs(en[: k + 1] - E[: k + 1]).max(axis=1)
    growth = np.concatenate([(bar_meas - C128_BARS[vals] * z[: k + 1, None]).ravel(),
                             [w[6 * k + 6] - 2.0 * z[k]]])
    modules = 11.0 * (k + 1) + 2.0
    width = float(np.sum(w[: 6 * k + 7]))
    data, sym_id = code128_data([int(v) for v in vals[: k - 1]])
    return Decoded(6 * k + 7, modules, data, sym_id, float(margin.min()),
                   float(growth.mean() / (width / modules)),
                   {"values": [int(v) for v in vals], "start": C128_START[int(vals[0])]})


def code128_data(values):
    """Symbol character values (start + data, without check and stop) ->
    (bytes with FNC1 as GS, AIM symbology identifier).  FNC1 in the first
    data position makes it GS1-128 (]C1) and is not transmitted."""
    cset = C128_START[values[0]]
    out = bytearray()
    sym_id = "]C0"
    shift = False
    fnc4_latch = fnc4_once = False
    pending_fnc4 = 0
    for pos, v in enumerate(values[1:]):
        cur = ("B" if cset == "A" else "A") if shift else cset
        shift = False
        if v == 102:  # FNC1
            if pos == 0:
                sym_id = "]C1"
            elif pos == 1 and sym_id == "]C0" and out:
                sym_id = "]C2"
            else:
                out.append(0x1D)
            continue
        if cur == "C":
            if v < 100:
                out += b"%02d" % v
            elif v == 100:
                cset = "B"
            elif v == 101:
                cset = "A"
            continue
        if v < 96:
            ch = v + 32 if (cur == "B" or v < 64) else v - 64
            if fnc4_latch != fnc4_once:
                ch += 128
            fnc4_once = False
            pending_fnc4 = 0
            out.append(ch)
        elif v == 98:
            shift = True
        elif v == 99:
            cset = "C"
        elif (v == 100 and cur == "B") or (v == 101 and cur == "A"):  # FNC4
            pending_fnc4 += 1
            if pending_fnc4 == 2:  # two FNC4 in a row toggle extended mode
                fnc4_latch, fnc4_once, pending_fnc4 = not fnc4_latch, False, 0
            else:
                fnc4_once = True
        elif v == 100:
            cset = "B"
        elif v == 101:
            cset = "A"
        # 96 (FNC3), 97 (FNC2): no data
    return bytes(out), sym_id


def _decode_ean_chars(W, table, bars_at):
    """Four-element EAN/UPC characters: T = character width; e1 = w1+w2,
    e2 = w2+w3 normalised to 7/T and rounded (2..5); 1/7 and 2/8 are told
    apart by the bar widths against the midpoint of the two nominal sums.
    -> ([(digit, set)], decodability per character, bar growth per
    character in modules) or None."""
    T = W.sum(axis=1)
    en = (W[:, :2] + W[:, 1:3]) * 7.0 / T[:, None]
    E = np.floor(en + 0.5).astype(np.int64)
    if ((E < 2) | (E > 5)).any():
        return None
    v_edges = 1.0 - 2.0 * np.abs(en - E).max(axis=1)
    bar_modules = (W[:, bars_at[0]] + W[:, bars_at[1]]) * 7.0 / T
    out, v, nominal = [], [], []
    for i in range(len(W)):
        cands = table.get((int(E[i, 0]), int(E[i, 1])))
        if not cands:
            return None
        vc = float(v_edges[i])
        pick = cands[0]
        if len(cands) == 2:
            (_, _, b1), (_, _, b2) = cands
            rt = (b1 + b2) / 2.0
            if (bar_modules[i] < rt) != (b1 < rt):
                pick = cands[1]
            # margin to the bar-width threshold; 1.0 = nominal (one module away)
            vc = min(vc, abs(bar_modules[i] - rt) / (abs(b1 - b2) / 2.0))
        out.append((pick[0], pick[1]))
        nominal.append(pick[2])
        v.append(min(vc, 1.0))
    growth = (bar_modules - np.array(nominal)) / 2.0  # per bar, in modules
    return out, np.array(v), growth


def _guards_ok(w, idx, module):
    # Guard patterns: every edge-to-similar-edge pair should be 2 modules.
    g = np.asarray([w[i] for i in idx], dtype=np.float64)
    e = (g[:-1] + g[1:]) / module
    return bool(((e > 1.25) & (e < 2.75)).all())


def decode_ean(w, n_digits=13):
    """EAN-13 / UPC-A (n_digits 13) or EAN-8 (8): guard, 6 (4) characters,
    centre guard, 6 (4) characters, guard; parity pattern gives EAN-13's
    first digit; mod-10 check digit.  -> Decoded or None."""
    half = 6 if n_digits == 13 else 4
    n_el = 3 + 4 * half + 5 + 4 * half + 3
    if len(w) < n_el:
        return None
    w = np.asarray(w[:n_el], dtype=np.float64)
    modules = 3 + 7 * half + 5 + 7 * half + 3
    module = w.sum() / modules
    centre = 3 + 4 * half
    if not (_guards_ok(w, range(3), module) and _guards_ok(w, range(centre, centre + 5), module)
            and _guards_ok(w, range(n_el - 3, n_el), module)):
        return None
    left = _decode_ean_chars(w[3:centre].reshape(half, 4), EAN_LEFT, (1, 3))
    right = _decode_ean_chars(w[centre + 5 : n_el - 3].reshape(half, 4), EAN_RIGHT, (0, 2))
    if left is None or right is None:
        return None
    lchars, lv, lg = left
    rchars, rv, rg = right
    parity = "".join(s for _, s in lchars)
    if n_digits == 13:
        if parity not in _EAN_FIRST_DIGIT:
            return None
        digits = str(_EAN_FIRST_DIGIT.index(parity))
    else:
        if parity != "LLLL":
            return None
        digits = ""
    digits += "".join(str(d) for d, _ in lchars) + "".join(str(d) for d, _ in rchars)
    if not _gs1_mod10(digits):
        return None
    growth = float(np.concatenate([lg, rg]).mean())
    return Decoded(n_el, float(modules), digits.encode(), "]E0" if n_digits == 13 else "]E4",
                   float(min(lv.min(), rv.min())), growth)


def decode_ean8(w):
    return decode_ean(w, 8)


def decode_itf(w, check_digit=False):
    """Interleaved 2 of 5: start (4 narrow), pairs of characters (5 bars =
    first digit, 5 spaces = second), stop (wide bar, narrow space, narrow
    bar); the symbol ends where a space of at least 6 narrow widths (the
    quiet zone) begins.  Each character of width S is read against
    RT = Z'·(1+N)/2, Z' = S/(3+2N), N = the symbol's mean wide/narrow ratio;
    exactly two wide elements.  Decodability per character:
    min((RT - widest narrow)/(RT - Z'), (narrowest wide - RT)/(N·Z' - RT)).
    check_digit: the GS1 mod-10 check digit is required (ITF-14).
    -> Decoded or None."""
    w = np.asarray(w, dtype=np.float64)
    if len(w) < 17:
        return None
    z0 = w[:4].mean()
    spaces = np.arange(5, len(w), 2)
    qz = spaces[w[spaces] >= 6.0 * z0]
    n_sym = int(qz[0]) if len(qz) else len(w) - (1 - len(w) % 2)  # must end on a bar
    if n_sym < 17 or (n_sym - 7) % 10:
        return None
    data = w[4 : n_sym - 3]
    srt = np.sort(data)
    n_wide = round(0.4 * len(data))
    narrow_mean, wide_mean = srt[: len(data) - n_wide].mean(), srt[len(data) - n_wide :].mean()
    N = wide_mean / narrow_mean
    if N < 1.5:
        return None
    chars = data.reshape(-1, 10)
    chars = np.concatenate([chars[:, 0::2], chars[:, 1::2]], axis=1).reshape(-1, 5)  # bars, spaces
    S = chars.sum(axis=1)
    zc = S / (3.0 + 2.0 * N)
    rt = zc * (1.0 + N) / 2.0
    wide = chars > rt[:, None]
    if (wide.sum(axis=1) != 2).any():
        return None
    digits = "".join(str(ITF_DIGIT.get("".join("w" if x else "n" for x in row), -1)) for row in wide)
    if "-1" in digits:
        return None
    rt_sym = narrow_mean * (1.0 + N) / 2.0
    if (w[:4] >= rt_sym).any() or w[n_sym - 3] <= rt_sym or (w[n_sym - 2 :n_sym] >= rt_sym).any():
        return None
    if check_digit and not _gs1_mod10(digits):
        return None
    widest_narrow = np.where(wide, -np.inf, chars).max(axis=1)
    narrowest_wide = np.where(wide, chars, np.inf).min(axis=1)
    vc = np.minimum((rt - widest_narrow) / (rt - zc), (narrowest_wide - rt) / (N * zc - rt))
    pairs = data.reshape(-1, 10)
    growth = ((pairs[:, 0::2].sum(axis=1) - pairs[:, 1::2].sum(axis=1)) / 10.0).mean() / narrow_mean
    modules = float(w[:n_sym].sum() / narrow_mean)
    return Decoded(n_sym, modules, digits.encode(), "]I1" if check_digit else "]I0",
                   float(min(vc.min(), 1.0)), float(growth),
                   {"wide_narrow_ratio": round(float(N), 3), "narrow_px": float(narrow_mean)})


def decode_itf14(w):
    return decode_itf(w, check_digit=True)


DECODERS = {"code128": decode_code128, "ean13": decode_ean, "upca": decode_ean,
            "ean8": decode_ean8, "itf": decode_itf, "itf14": decode_itf14}


# -- geometry: where the bars are, and the scan lines ------------------------
def _corners(position):
    names = ("top_left", "top_right", "bottom_right", "bottom_left")
    return np.array([[getattr(position, n).x, getattr(position, n).y] for n in names], dtype=np.float64)


def scan_axes(position):
    """zxing-cpp's four corners -> (origin, u, v, length): u runs along the
    scan line in reading direction from the first bar, v across the bars."""
    c = _corners(position)
    left, right = (c[0] + c[3]) / 2.0, (c[1] + c[2]) / 2.0
    length = float(np.hypot(*(right - left)))
    if length < 1.0:
        raise ValueError("symbol position is degenerate")
    u = (right - left) / length
    v = np.array([-u[1], u[0]])
    return left, u, v, length


def bilinear(img, x, y):
    """Sample img at float (x=column, y=row); NaN outside the image."""
    h, w = img.shape
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    xc = np.clip(x, 0, w - 1.000001)
    yc = np.clip(y, 0, h - 1.000001)
    x0 = xc.astype(np.intp)
    y0 = yc.astype(np.intp)
    fx = xc - x0
    fy = yc - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    out = top * (1 - fy) + bottom * fy
    return np.where(inside, out, np.nan)


def _sample_lines(img, origin, u, v, us, vs):
    # rows at offsets vs (across the bars), columns at us (along the scan)
    x = origin[0] + us[None, :] * u[0] + vs[:, None] * v[0]
    y = origin[1] + us[None, :] * u[1] + vs[:, None] * v[1]
    return bilinear(img, x, y)


def aperture_kernel(diameter_px):
    """Weights of a circular aperture of that diameter on the 1-px sampling
    grid (area of the disc falling in each pixel, 8x8 supersampling)."""
    r = max(diameter_px, 1e-6) / 2.0
    n = int(np.ceil(r - 0.5))
    sub = (np.arange(8) + 0.5) / 8.0 - 0.5
    offs = np.arange(-n, n + 1)
    py = (offs[:, None] + sub[None, :]).ravel()
    inside = (py[:, None] ** 2 + py[None, :] ** 2) <= r * r
    k = inside.reshape(2 * n + 1, 8, 2 * n + 1, 8).sum(axis=(1, 3)).astype(np.float64)
    if k.sum() == 0:  # aperture far below a pixel: the pixel itself
        k[n, n] = 1.0
    return k / k.sum()


def sample_profiles(img, origin, u, v, us, v_lines, kernel):
    """Aperture-averaged profiles along the scan lines at v_lines -> (lines, len(us)).
    Samples outside the image are left out of the average; a profile point
    whose centre is outside the image is NaN."""
    n = kernel.shape[0] // 2
    offs = np.arange(-n, n + 1, dtype=np.float64)
    step = us[1] - us[0]
    us_ext = np.concatenate([us[0] + offs[:n] * step, us, us[-1] + offs[n + 1 :] * step])
    out = np.empty((len(v_lines), len(us)))
    for i, vl in enumerate(v_lines):
        patch = _sample_lines(img, origin, u, v, us_ext, vl + offs)
        valid = ~np.isnan(patch)
        vals = np.where(valid, patch, 0.0)
        if n:
            win = np.lib.stride_tricks.sliding_window_view(vals, (2 * n + 1, 2 * n + 1))[0]
            wv = np.lib.stride_tricks.sliding_window_view(valid.astype(np.float64), (2 * n + 1, 2 * n + 1))[0]
            num = np.einsum("ujk,jk->u", win, kernel)
            den = np.einsum("ujk,jk->u", wv, kernel)
        else:
            num, den = vals[0], valid[0].astype(np.float64)
        prof = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
        centre_ok = valid[n, n : n + len(us)] if n else valid[0]
        out[i] = np.where(centre_ok, prof, np.nan)
    return out


def find_bar_band(img, origin, u, v, us, profile, gt, u0, u1):
    """Extent of the bars across the scan line: walk away from the reader's
    line (v = 0) while the element centres found on it keep their colour.
    -> (v_top, v_bottom)."""
    elems = elements(us, profile, gt)
    if elems is None:
        return -1.0, 1.0
    lo, hi, dark = elems["lo"], elems["hi"], elems["dark"]
    keep = (lo >= u0 - 1.0) & (hi <= u1 + 1.0) & (hi - lo >= 1.5)
    centres, dark = ((lo + hi) / 2.0)[keep], dark[keep]
    if len(centres) < 4:
        return -1.0, 1.0
    h, w = img.shape
    limit = float(np.hypot(h, w))
    ends = []
    for sign in (-1.0, 1.0):
        reach, step = 0.0, 32
        while reach < limit:
            vs = sign * (reach + np.arange(1, step + 1, dtype=np.float64))
            vals = _sample_lines(img, origin, u, v, centres, vs)
            agree = ((vals < gt) == dark[None, :]) & ~np.isnan(vals)
            bad = agree.mean(axis=1) < 0.85  # a spot defect spoils one element, not 15 %
            if bad.any():
                reach += float(np.argmax(bad))
                break
            reach += step
        ends.append(sign * (reach + 0.5))  # a sampled row stands for a pixel row
    return ends[0], ends[1]


# -- profile primitives ------------------------------------------------------
def elements(us, r, gt):
    """Elements of a profile at threshold gt: crossings interpolated between
    samples.  Only the valid (non-NaN) run around the middle is used.
    -> dict(lo, hi: element bounds in u; dark; first/last sample index; run)
    or None when there is nothing to measure."""
    ok = ~np.isnan(r)
    if ok.sum() < 3:
        return None
    # the longest valid run
    idx = np.nonzero(ok)[0]
    breaks = np.nonzero(np.diff(idx) > 1)[0]
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    stops = np.concatenate([idx[breaks], [idx[-1]]])
    j = int(np.argmax(stops - starts))
    a, b = int(starts[j]), int(stops[j])
    rr = r[a : b + 1]
    s = rr >= gt  # light
    change = np.nonzero(s[1:] != s[:-1])[0]
    d0, d1 = rr[change] - gt, rr[change + 1] - gt
    frac = np.where(d0 != d1, d0 / (d0 - d1), 0.5)
    step = us[1] - us[0] if len(us) > 1 else 1.0
    edges = us[a + change] + frac * step
    # a sample stands for the pixel around it: the run ends half a step out
    lo = np.concatenate([[us[a] - step / 2.0], edges])
    hi = np.concatenate([edges, [us[b] + step / 2.0]])
    first = np.concatenate([[a], a + change + 1])
    last = np.concatenate([a + change, [b]])
    dark = np.empty(len(lo), dtype=bool)
    dark[0] = not s[0]
    dark[1:] = ~s[change + 1]
    return {"lo": lo, "hi": hi, "dark": dark, "first": first, "last": last, "run": (a, b)}


def local_extrema(r):
    """Masks of local peaks and valleys (plateaus count once)."""
    d = np.diff(r)
    sg = np.sign(np.where(np.abs(d) < 1e-9, 0.0, d))
    nz = np.where(sg != 0, np.arange(len(sg)), 0)
    np.maximum.accumulate(nz, out=nz)
    filled = sg[nz]  # sign of the last non-flat step
    peak = np.zeros(len(r), dtype=bool)
    valley = np.zeros(len(r), dtype=bool)
    peak[1:-1] = (filled[:-1] > 0) & (sg[1:] < 0)
    valley[1:-1] = (filled[:-1] < 0) & (sg[1:] > 0)
    return peak, valley


def element_reflectances(r, first, last, dark):
    """Per element: its reflectance (Rs = max of a space, Rb = min of a bar)
    and ERN (highest peak - lowest valley inside it; 0 without both)."""
    n = len(first)
    r = r[first[0] : last[-1] + 1]  # reduceat runs the last element to the array's end
    idx = np.asarray(first, dtype=np.intp) - first[0]
    last = np.asarray(last) - first[0]
    hi = np.maximum.reduceat(r, idx)[:n]
    lo = np.minimum.reduceat(r, idx)[:n]
    peak, valley = local_extrema(r)
    pk = np.maximum.reduceat(np.where(peak, r, -np.inf), idx)[:n]
    vl = np.minimum.reduceat(np.where(valley, r, np.inf), idx)[:n]
    empty = last < idx  # an element narrower than one sample
    if empty.any():
        near = r[np.clip(idx[empty], 0, len(r) - 1)]
        hi[empty] = lo[empty] = near
        pk[empty], vl[empty] = -np.inf, np.inf
    refl = np.where(dark, lo, hi)
    ern = np.where(dark, pk - lo, hi - vl)
    ern = np.where(np.isfinite(ern), ern, 0.0)
    return refl, np.maximum(ern, 0.0)


# -- parameters (one small function each) -------------------------------------
def p_decode(decoded, expected, symbology_known=True):
    if not symbology_known:
        return {"value": None, "grade": None}
    ok = decoded is not None and (expected is None or decoded.data == expected)
    return {"value": 1 if ok else 0, "grade": 4 if ok else 0}


def p_rmin_rmax(rmin, rmax):
    ratio = rmin / rmax if rmax > 0 else 1.0
    return {"value": round(float(ratio), 4), "grade": 4 if ratio <= RMIN_RATIO_MAX else 0,
            "rmin": round(float(rmin), 2), "rmax": round(float(rmax), 2)}


def p_symbol_contrast(rmin, rmax):
    sc = rmax - rmin
    return {"value": round(float(sc), 2), "grade": band_grade("symbol_contrast", sc)}


def p_edge_contrast(refl):
    ec = float(np.abs(np.diff(refl)).min()) if len(refl) > 1 else 0.0
    return {"value": round(float(ec), 2), "grade": 4 if ec >= EDGE_CONTRAST_MIN else 0}


def p_modulation(ecmin, sc):
    mod = ecmin / sc if sc > 0 else 0.0
    return {"value": round(float(mod), 4), "grade": band_grade("modulation", mod)}


def p_defects(ern, sc):
    d = float(ern.max()) / sc if sc > 0 and len(ern) else 1.0
    return {"value": round(float(d), 4), "grade": band_grade("defects", d)}


def p_decodability(decoded, symbology_known=True):
    if not symbology_known:
        return {"value": None, "grade": None}
    v = decoded.decodability if decoded is not None else 0.0
    return {"value": round(float(v), 4), "grade": band_grade("decodability", v)}


def p_quiet_zone(left_x, right_x, required):
    left_x, right_x = float(left_x), float(right_x)
    if required is None:
        return {"value": round(min(left_x, right_x), 2), "grade": None,
                "leading_x": round(left_x, 2), "trailing_x": round(right_x, 2)}
    ok = left_x >= required[0] - QZ_TOLERANCE_X and right_x >= required[1] - QZ_TOLERANCE_X
    return {"value": round(min(left_x, right_x), 2), "grade": 4 if ok else 0,
            "leading_x": round(left_x, 2), "trailing_x": round(right_x, 2),
            "required_x": list(required)}


# -- one profile -------------------------------------------------------------
def _find_symbol(el, decoders, u0, u1, x_hint):
    """Try the reference decode from the bars nearest to where the reader put
    the symbol's ends, in reading direction and reversed.
    -> (decoder name, Decoded, first element index, last element index, reversed)."""
    lo, hi, dark = el["lo"], el["hi"], el["dark"]
    w = hi - lo
    bars = np.nonzero(dark)[0]
    # interior bars only: the first and last elements are cut by the run's ends
    bars = bars[(bars > 0) & (bars < len(lo) - 1)]
    if not len(bars):
        return None
    tol = max(4.0 * x_hint, 0.05 * (u1 - u0))
    fwd = bars[np.abs(lo[bars] - u0) <= tol]
    fwd = fwd[np.argsort(np.abs(lo[fwd] - u0))][:6]
    rev = bars[np.abs(hi[bars] - u1) <= tol]
    rev = rev[np.argsort(np.abs(hi[rev] - u1))][:6]
    for name, dec in decoders:
        for i in fwd:
            d = dec(w[i : len(w) - 1])
            if d is not None:
                return name, d, int(i), int(i) + d.n_elements - 1, False
        for j in rev:
            d = dec(w[1 : j + 1][::-1])
            if d is not None:
                return name, d, int(j) - d.n_elements + 1, int(j), True
    return None


def _fallback_ends(el, u0, u1):
    # Without a decode: the outermost bars inside the reader's symbol extent.
    lo, hi, dark = el["lo"], el["hi"], el["dark"]
    inner = np.nonzero(dark & (hi >= u0 - 1.0) & (lo <= u1 + 1.0))[0]
    inner = inner[(inner > 0) & (inner < len(lo) - 1)]
    if not len(inner):
        return None
    return int(inner[0]), int(inner[-1])


def grade_profile(us, r, u0, u1, x_hint, decoders, qz_required, expected):
    """All parameters of one scan reflectance profile r (reflectance %, NaN
    outside the image) sampled at positions us along the scan line; u0/u1:
    where the reader found the first and last bar.  Two passes: the threshold
    from the symbol alone finds the symbol and X, then Rmin/Rmax are taken
    over the symbol plus its required quiet zones and everything is measured
    again at that global threshold."""
    known = bool(decoders)
    core = (us >= u0 - 2.0) & (us <= u1 + 2.0) & ~np.isnan(r)
    if core.sum() < 8:
        return _empty_profile(known, qz_required)
    rmin, rmax = float(r[core].min()), float(r[core].max())
    found = None
    span = None
    for _ in range(2):
        gt = rmin + (rmax - rmin) / 2.0
        el = elements(us, r, gt)
        if el is None:
            return _empty_profile(known, qz_required)
        found = _find_symbol(el, decoders, u0, u1, x_hint) if known else None
        if found is not None:
            _, dec, a, b, rev = found
            x = (el["hi"][b] - el["lo"][a]) / dec.modules
        else:
            ends = _fallback_ends(el, u0, u1)
            if ends is None:
                return _empty_profile(known, qz_required)
            (a, b), rev, x = ends, False, x_hint
        req = qz_required if qz_required is not None else (10.0, 10.0)
        lead, trail = (req[1], req[0]) if rev else req
        span_lo = max(el["lo"][a] - lead * x, el["lo"][a - 1])
        span_hi = min(el["hi"][b] + trail * x, el["hi"][b + 1])
        span = (us >= span_lo) & (us <= span_hi) & ~np.isnan(r)
        rmin, rmax = float(r[span].min()), float(r[span].max())
    # elements inside the span: the two quiet zones and the symbol between them
    sel = slice(a - 1, b + 2)
    first = np.maximum(el["first"][sel], int(np.argmax(span)))
    last = np.minimum(el["last"][sel], len(span) - 1 - int(np.argmax(span[::-1])))
    refl, ern = element_reflectances(r, first, last, el["dark"][sel])
    sc = rmax - rmin
    qz_lead = (el["lo"][a] - el["lo"][a - 1]) / x
    qz_trail = (el["hi"][b + 1] - el["hi"][b]) / x
    if rev:
        qz_lead, qz_trail = qz_trail, qz_lead
    dec = found[1] if found else None
    res = {
        "decode": p_decode(dec, expected, known),
        "rmin_rmax": p_rmin_rmax(rmin, rmax),
        "symbol_contrast": p_symbol_contrast(rmin, rmax),
        "edge_contrast": p_edge_contrast(refl),
        "decodability": p_decodability(dec, known),
        "quiet_zone": p_quiet_zone(qz_lead, qz_trail, qz_required),
    }
    res["modulation"] = p_modulation(res["edge_contrast"]["value"], sc)
    res["defects"] = p_defects(ern, sc)
    res["scan_grade"] = min(res[p]["grade"] for p in PARAMETERS if res[p]["grade"] is not None)
    res["x_dim_px"] = round(float(x), 3) if found else None
    res["print_growth_x"] = round(dec.growth_x, 3) if dec else None
    res["global_threshold"] = round(gt, 2)
    res["symbology"] = found[0] if found else None
    res["data"] = dec.data if dec else None
    res["symbology_id"] = dec.symbology_id if dec else None
    res["extra"] = dec.extra if dec else {}
    return res


def _empty_profile(known, qz_required):
    # Nothing measurable on this line (no contrast, outside the image).
    res = {p: {"value": 0, "grade": 0} for p in PARAMETERS}
    if not known:
        res["decode"] = res["decodability"] = {"value": None, "grade": None}
    if qz_required is None:
        res["quiet_zone"] = {"value": 0, "grade": None}
    res["rmin_rmax"] = {"value": 1.0, "grade": 0, "rmin": None, "rmax": None}
    res.update(scan_grade=0, x_dim_px=None, print_growth_x=None, global_threshold=None,
               symbology=None, data=None, symbology_id=None, extra={})
    return res


# -- the symbol --------------------------------------------------------------
def symbology_of(result):
    """zxing-cpp format -> key of SYMBOLOGIES (None: no reference decode here)."""
    fmt = getattr(result.format, "name", None) or str(result.format).split(".")[-1]
    return FORMAT_TO_SYMBOLOGY.get(fmt.lower().replace("-", "").replace(" ", ""))


def _read(gray):
    # Only when the caller did not pass the reader's result.
    import zxingcpp

    res = zxingcpp.read_barcodes(np.clip(gray, 0, 255).astype(np.uint8), formats=zxingcpp.BarcodeFormat.AllLinear)
    return res[0] if res else None


def _expected_data(result, symbology):
    data = bytes(result.bytes) if getattr(result, "bytes", None) is not None else result.text.encode()
    if symbology == "upca" and len(data) == 12:
        data = b"0" + data  # our decoder reads UPC-A as the equivalent EAN-13
    return data


def _summarise(profiles):
    params = {}
    for p in PARAMETERS:
        vals = [pr[p]["value"] for pr in profiles if pr[p]["value"] is not None]
        grades = [pr[p]["grade"] for pr in profiles if pr[p]["grade"] is not None]
        how = WORST_IS[p]
        if vals:
            value = float(np.mean(vals)) if how == "mean" else float(max(vals) if how == "max" else min(vals))
        else:
            value = None
        params[p] = {"value": None if value is None else round(value, 4), "value_is": how,
                     "mean": round(float(np.mean(vals)), 4) if vals else None,
                     "grade": round(float(np.mean(grades)), 2) if grades else None}
    return params


def _undecodable(notes, relative, aperture_x):
    prof = _empty_profile(True, (10.0, 10.0))
    profiles = [_public(prof) for _ in range(N_SCANS)]
    return {"symbology": None, "data": None, "edition": EDITION, "profiles": profiles,
            "parameters": _summarise(profiles), "scan_grades": [0.0] * N_SCANS, "grade": 0.0,
            "letter": "F", "x_dim_px": None, "aperture_x": aperture_x, "aperture_px": None,
            "relative": relative, "notes": notes}


def _public(prof):
    out = {p: prof[p] for p in PARAMETERS}
    for k in ("scan_grade", "x_dim_px", "print_growth_x", "global_threshold", "symbology_id"):
        out[k] = prof.get(k)
    if prof.get("v_px") is not None:
        out["v_px"] = prof["v_px"]
    return out


def grade_linear(gray, result=None, calibration=None, aperture_x=None, dpi=None):
    """Grade one linear symbol in a grayscale image (float 0-255; colour is
    converted with to_gray).  result: zxing-cpp's result for the symbol
    (position, format, bytes); read here when None.  aperture_x: aperture
    diameter as a fraction of the measured X (default 0.5).  dpi: only for
    reporting X and the aperture in mm / mils.  See the module docstring and
    docs/quality-1d.md for what this is and is not."""
    img = np.asarray(gray)
    if img.ndim == 3:
        img = to_gray(img)
    relative = calibration is None
    aperture_x = DEFAULT_APERTURE_X if aperture_x is None else float(aperture_x)
    notes = []
    if relative:
        notes.append("relative reflectance: pixel 255 = 100 %, no calibration card")
    if result is None:
        result = _read(img)
    if result is None or not getattr(result, "valid", True):
        notes.append("no linear symbol found by the reader; nothing to grade")
        return _undecodable(notes, relative, aperture_x)
    sym = symbology_of(result)
    if sym == "itf" and getattr(result, "symbology_identifier", "") == "]I1" and len(result.text) == 14:
        sym = "itf14"  # the reader checked a GS1 check digit on 14 digits: ITF-14 rules
    if sym is None:
        notes.append("no reference decoder here for %s: decode and decodability are not graded, "
                     "quiet zone not checked; the grade is NOT an ISO 15416 grade" % result.format)
        decoders, qz_req = [], None
    else:
        decoders = [(sym, DECODERS[sym])]
        qz_req = SYMBOLOGIES[sym]["qz"]
    expected = _expected_data(result, sym) if sym else None
    if sym == "ean13" and expected[:1] == b"0":
        # the same bars as a UPC-A: UPC-A's 9X leading, EAN-13's 7X trailing
        qz_req = (SYMBOLOGIES["upca"]["qz"][0], SYMBOLOGIES["ean13"]["qz"][1])
        notes.append("leading digit 0 (a UPC-A): quiet zones 9X leading / 7X trailing")

    try:
        origin, u, v, length = scan_axes(result.position)
    except ValueError as e:
        notes.append(str(e))
        return _undecodable(notes, relative, aperture_x)
    end = origin + u * length
    # 1. the reader's own line, without aperture: where the bars are and X
    line = _reader_line(img, origin, u, v, length)
    if line is None:
        notes.append("the symbol position lies outside the image")
        return _undecodable(notes, relative, aperture_x)
    # the reader's line need not cross the bars at right angles: turn the
    # axes until the bars run along v
    u, v, tilt = refine_axes(img, origin, u, v, length, *line)
    if tilt:
        length = float((end - origin) @ u)
        line = _reader_line(img, origin, u, v, length)
        if line is None:
            notes.append("the symbol position lies outside the image")
            return _undecodable(notes, relative, aperture_x)
        notes.append("bars at %.1f degrees to the reader's line: resampled (bilinear) along the symbol "
                     "axis" % np.degrees(tilt))
    us0, line0, gt0 = line
    u0, u1 = 0.0, length
    el0 = elements(us0, line0, gt0)
    x_est = _x_estimate(el0, decoders, u0, u1)
    v_top, v_bot = find_bar_band(img, origin, u, v, us0, line0, gt0, u0, u1)
    height = v_bot - v_top
    # 2. ten scan lines in the inspection band, through the aperture
    frac = INSPECTION_BAND[0] + (INSPECTION_BAND[1] - INSPECTION_BAND[0]) * (np.arange(N_SCANS) + 0.5) / N_SCANS
    v_lines = v_top + frac * height
    d_px = aperture_x * x_est
    kernel = aperture_kernel(d_px)
    if d_px < 1.0:
        notes.append("aperture %.2f px is below one pixel: the image resolution is the aperture" % d_px)
    margin = float(np.ceil(max(qz_req or (10.0, 10.0)) * x_est + 4.0 * x_est + kernel.shape[0]))
    us = np.arange(-margin, length + margin + 1.0)
    profiles_px = sample_profiles(img, origin, u, v, us, v_lines, kernel)
    profiles_r = reflectance(profiles_px, calibration)
    graded = []
    for k in range(N_SCANS):
        pr = grade_profile(us, profiles_r[k], u0, u1, x_est, decoders, qz_req, expected)
        pr["v_px"] = round(float(v_lines[k]), 2)
        graded.append(pr)
    decoded_ref = [pr for pr in graded if pr["data"] is not None]
    if expected is not None and any(pr["data"] != expected for pr in decoded_ref):
        notes.append("the reference decode differs from the reader's data on some scan lines (decode F there)")
    scan_grades = [float(pr["scan_grade"]) for pr in graded]
    grade = float(np.mean(scan_grades))
    xs = [pr["x_dim_px"] for pr in graded if pr["x_dim_px"]]
    x_dim = float(np.mean(xs)) if xs else x_est
    growth = [pr["print_growth_x"] for pr in graded if pr["print_growth_x"] is not None]
    out = {
        "symbology": _symbology_name(sym, result, decoded_ref),
        "data": (decoded_ref[0]["data"].decode("latin-1") if decoded_ref else None),
        "edition": EDITION,
        "profiles": [_public(pr) for pr in graded],
        "parameters": _summarise(graded),
        "scan_grades": scan_grades,
        "grade": round(grade, 2),
        "letter": letter(grade),
        "x_dim_px": round(x_dim, 3),
        "aperture_x": aperture_x,
        "aperture_px": round(d_px, 3),
        "bar_height_px": round(float(height), 1),
        "print_growth_x": round(float(np.mean(growth)), 3) if growth else None,
        "relative": relative,
        "notes": notes,
    }
    extra = next((pr["extra"] for pr in decoded_ref if pr["extra"]), {})
    if "wide_narrow_ratio" in extra:
        out["wide_narrow_ratio"] = extra["wide_narrow_ratio"]
    if dpi:
        out["x_dim_mm"] = round(x_dim / dpi * 25.4, 4)
        out["aperture_mm"] = round(d_px / dpi * 25.4, 4)
        out["aperture_ref"] = "%02d" % round(d_px / dpi * 1000.0)  # thousandths of an inch
        gs1_px = 0.006 * dpi
        if abs(d_px - gs1_px) > 0.25 * gs1_px:
            notes.append("GS1 healthcare grades linear symbols with aperture 06 (0.152 mm = %.2f px here, "
                         "aperture_x=%.2f); this grade used %.2f px" % (gs1_px, gs1_px / x_dim, d_px))
    if sym in ("itf", "itf14"):
        notes.append("ITF decodability uses this module's two-width formula (docs/quality-1d.md), "
                     "not a formula checked against ISO/IEC 16390")
    if sym in ("ean13", "upca", "ean8"):
        notes.append("EAN/UPC decodability: edge-to-similar-edge margins, and for 1/2/7/8 the bar-width "
                     "margin (docs/quality-1d.md)")
    return out


def _reader_line(img, origin, u, v, length):
    # -> (positions, raw profile, threshold) along v = 0, or None off the image.
    # Whole-pixel margins keep the samples on the pixel grid when axis-aligned.
    margin = float(np.ceil(0.4 * length + 10.0))
    us = np.arange(-margin, length + margin + 1.0)
    line = _sample_lines(img, origin, u, v, us, np.array([0.0]))[0]
    core = ~np.isnan(line) & (us >= 0.0) & (us <= length)
    if core.sum() < 8:
        return None
    return us, line, (np.nanmin(line[core]) + np.nanmax(line[core])) / 2.0


def _edge_shift(img, origin, u, v, us, gt, dv, x_rough):
    """Median shift along u of the edges between the lines v = -dv and +dv
    (edges matched by polarity and nearest position) -> px, or None."""
    lines = _sample_lines(img, origin, u, v, us, np.array([-dv, dv]))
    found = []
    for r in lines:
        el = elements(us, r, gt)
        if el is None or len(el["lo"]) < 8:
            return None
        found.append((el["lo"][1:], el["dark"][1:]))  # edge position, dark on its right
    (e0, d0), (e1, d1) = found
    j = np.clip(np.searchsorted(e0, e1), 1, len(e0) - 1)
    nearer = np.where(np.abs(e0[j - 1] - e1) < np.abs(e0[j] - e1), j - 1, j)
    shift = e1 - e0[nearer]
    ok = (d0[nearer] == d1) & (np.abs(shift) < 0.45 * x_rough)
    return float(np.median(shift[ok])) if ok.sum() >= 8 else None


def refine_axes(img, origin, u, v, length, us, line, gt):
    """Tilt of the bars against the reader's line, from how far the edges
    move between neighbouring lines (1, 4, then 16 px apart, each step
    correcting the last) -> (u, v, tilt in radians; 0 = unchanged)."""
    keep = (us >= -2.0) & (us <= length + 2.0)
    us = us[keep]
    el = elements(us, line[keep], gt)
    if el is None or len(el["lo"]) < 8:
        return u, v, 0.0
    x_rough = max(float(np.percentile(el["hi"] - el["lo"], 25)), 1.0)
    t_total = 0.0
    u_new, v_new = u, v
    for dv in (1.0, 4.0, 16.0):
        s = _edge_shift(img, origin, u_new, v_new, us, gt, dv, x_rough)
        if s is None:
            break
        t_total += s / (2.0 * dv)  # edge moves t px along u per px along v
        v_new = v + t_total * u
        v_new = v_new / np.hypot(*v_new)
        u_new = np.array([v_new[1], -v_new[0]])
        if u_new @ u < 0:
            u_new = -u_new
    tilt = float(np.arctan(t_total))
    if abs(tilt) < np.radians(0.3):  # keep the samples on the pixel grid
        return u, v, 0.0
    return u_new, v_new, tilt


def _symbology_name(sym, result, decoded_ref):
    if sym is None:
        return str(result.format)
    if sym == "code128" and any(pr["symbology_id"] == "]C1" for pr in decoded_ref):
        return "GS1-128"
    if sym == "ean13" and decoded_ref and decoded_ref[0]["data"][:1] == b"0":
        return "EAN-13 (UPC-A)"
    return SYMBOLOGIES[sym]["name"]


def _x_estimate(el, decoders, u0, u1):
    """X in px from the reader's line: from a reference decode if it works,
    else the narrow-element width (25th percentile of widths in the symbol)."""
    if el is None:
        return 1.0
    w = el["hi"] - el["lo"]
    inner = (el["lo"] >= u0 - 2.0) & (el["hi"] <= u1 + 2.0)
    rough = float(np.percentile(w[inner], 25)) if inner.sum() >= 4 else max((u1 - u0) / 50.0, 1.0)
    if decoders:
        found = _find_symbol(el, decoders, u0, u1, rough)
        if found is not None:
            _, dec, a, b, _ = found
            return float((el["hi"][b] - el["lo"][a]) / dec.modules)
    return max(rough, 1.0)
