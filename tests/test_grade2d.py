"""ISO/IEC 15415-style 2D grading (gateway/quality/grade2d.py) on synthetic
images whose parameters are known analytically: symbols written by zxing-cpp,
drawn at a whole number of pixels per module, then degraded with numpy.  Each
degradation must land in the right band for the parameter it changes and
leave the others high."""

from functools import cache

import numpy as np
import pytest

zxingcpp = pytest.importorskip("zxingcpp")

from gateway.quality import grade2d as g2
from gateway.quality.reflectance import Calibration

X = 10  # pixels per module
Q = 3  # quiet zone drawn around the symbol, in modules
GS1 = "(01)09506000134352(17)201225(10)ABC123(21)XYZ"


@cache
def _dm():
    # GS1 DataMatrix 22x22: 30 data + 20 EC codewords, one block (d = 20, p = 0)
    b = zxingcpp.create_barcode(GS1, zxingcpp.DataMatrix, gs1=True, force_square=True)
    assert b.symbology_identifier == "]d2"
    return np.asarray(b.to_image(add_quiet_zones=False)) < 128


@cache
def _qr():
    # QR version 2-M: 28 data + 16 EC codewords, one block (d = 16, p = 0)
    b = zxingcpp.create_barcode("HTTPS://EXAMPLE.CN/12345", zxingcpp.QRCode, ec_level="M", version=2)
    return np.asarray(b.to_image(add_quiet_zones=False)) < 128


def render(m, sx=X, sy=None, q=Q, dark=0.0, light=255.0):
    sy = sy or sx
    img = np.full((m.shape[0] + 2 * q, m.shape[1] + 2 * q), light, np.float64)
    img[q:q + m.shape[0], q:q + m.shape[1]] = np.where(m, dark, light)
    return np.kron(img, np.ones((sy, sx)))


def grades(out):
    return {k: v["grade"] for k, v in out["parameters"].items()}


def others_high(out, changed, floor=3):
    # every graded parameter except the changed ones is >= floor
    low = {k: g for k, g in grades(out).items() if g is not None and k not in changed and g < floor}
    assert not low, (low, out["notes"])


def clean_result(img):
    return zxingcpp.read_barcodes(np.clip(img, 0, 255).astype(np.uint8))[0]


def blur(img, sigma):
    # separable Gaussian as two matrix products (edge pixels repeated)
    def kernel_matrix(n):
        i = np.arange(n)
        k = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
        return k / k.sum(1, keepdims=True)
    return kernel_matrix(img.shape[0]) @ img @ kernel_matrix(img.shape[1]).T


def dilate_dark(img, k):
    # every dark region grows by k px on each side (total width + 2k)
    out = img.copy()
    for dy in range(-k, k + 1):
        for dx in range(-k, k + 1):
            out = np.minimum(out, np.roll(np.roll(img, dy, 0), dx, 1))
    return out


# ------------------------------------------------------------------ baseline
def test_clean_data_matrix_is_grade_4():
    out = g2.grade_2d(render(_dm()))
    assert out["grade"] == 4.0 and set(grades(out).values()) <= {4, None}
    assert out["grid"] == (22, 22) and out["symbology"] == "DataMatrix"
    assert out["x_dim_px"] == pytest.approx(X, abs=0.02)
    assert out["aperture_x"] == 0.8 and out["aperture_ref"] is None and out["relative"] is True
    p = out["parameters"]
    assert p["symbol_contrast"]["value"] == pytest.approx(100.0)
    assert p["unused_error_correction"]["value"] == 1.0
    assert abs(p["print_growth"]["value"]) < 0.02 and p["print_growth"]["grade"] is None


def test_clean_qr_is_grade_4():
    out = g2.grade_2d(render(_qr(), 8, q=5))
    assert out["grade"] == 4.0 and out["grid"] == (25, 25) and out["symbology"] == "QRCode"


def test_undecodable_image_grades_0_without_exception():
    rng = np.random.default_rng(7)
    for img in (rng.uniform(0, 255, (160, 160)), np.full((50, 50), 255.0)):
        out = g2.grade_2d(img)
        assert out["grade"] == 0.0
        assert out["parameters"]["decode"]["grade"] == 0
        assert out["parameters"]["unused_error_correction"]["grade"] is None


def test_thresholds_are_data_and_banded_at_the_limits():
    assert g2.THRESHOLDS["unused_error_correction"] == ("min", (0.62, 0.50, 0.37, 0.25))
    assert [g2.band("unused_error_correction", v) for v in (0.62, 0.619, 0.5, 0.37, 0.25, 0.24)] == [4, 3, 3, 2, 1, 0]
    assert [g2.band("axial_nonuniformity", v) for v in (0.06, 0.061, 0.08, 0.10, 0.12, 0.121)] == [4, 3, 3, 2, 1, 0]
    assert [g2.band("symbol_contrast", v) for v in (70, 69.9, 55, 40, 20, 19.9)] == [4, 3, 3, 2, 1, 0]


# ------------------------------------------------------------ symbol contrast
@pytest.mark.parametrize("sc,grade", [(80, 4), (62, 3), (47, 2), (30, 1), (15, 0)])
def test_symbol_contrast_band(sc, grade):
    light = 128 + sc * 2.55 / 2
    dark = 128 - sc * 2.55 / 2
    out = g2.grade_2d(render(_dm(), dark=dark, light=light))
    p = out["parameters"]["symbol_contrast"]
    assert p["value"] == pytest.approx(sc, abs=0.5)
    assert p["grade"] == grade
    others_high(out, {"symbol_contrast"}, floor=4)  # MOD/RM are relative to SC


def test_calibration_maps_reflectance_and_is_not_relative():
    card = Calibration(light_pixel=255, light_r=84.0, dark_pixel=0, dark_r=4.0)
    out = g2.grade_2d(render(_dm()), calibration=card)
    p = out["parameters"]["symbol_contrast"]
    assert out["relative"] is False
    assert (p["rmax"], p["rmin"], p["value"]) == pytest.approx((84.0, 4.0, 80.0), abs=0.1)


# ------------------------------------------------------- axial non-uniformity
@pytest.mark.parametrize("sx,sy", [(21, 20), (27, 25), (24, 22), (29, 26), (23, 20)])
def test_axial_stretch_band(sx, sy):
    # modules sx px wide, sy px high: AN = |sx - sy| / ((sx + sy) / 2)
    an = abs(sx - sy) / ((sx + sy) / 2)
    out = g2.grade_2d(render(_dm(), sx, sy))
    p = out["parameters"]["axial_nonuniformity"]
    assert p["value"] == pytest.approx(an, abs=0.002)
    assert p["grade"] == g2.band("axial_nonuniformity", an)
    others_high(out, {"axial_nonuniformity"}, floor=4)


# -------------------------------------------------------- grid non-uniformity
def _warp_columns(img, amplitude, axis=1):
    """Displace the symbol's columns (axis=1) or rows (axis=0) smoothly: a
    point at s pixels from the symbol's edge moves by amplitude*X*sin(2 pi s / W),
    W = symbol width, so the outline stays in place.  Rendered by inverse
    mapping with linear interpolation."""
    n = _dm().shape[1 - axis] if axis == 1 else _dm().shape[0]
    w = n * X
    x0 = Q * X - 0.5  # symbol edge in pixel-centre coordinates
    out_x = np.arange(img.shape[axis], dtype=np.float64)
    src = out_x.copy()
    inside = lambda s: (s > x0) & (s < x0 + w)
    for _ in range(60):  # solve out = src + A X sin(...) for src
        src = out_x - amplitude * X * np.sin(2 * np.pi * (src - x0) / w) * inside(src)
    i0 = np.clip(np.floor(src).astype(int), 0, img.shape[axis] - 2)
    f = src - i0
    if axis == 1:
        return img[:, i0] * (1 - f) + img[:, i0 + 1] * f
    return img[i0, :] * (1 - f)[:, None] + img[i0 + 1, :] * f[:, None]


def _analytic_gn(amplitude, n_along, n_across):
    """GN of the warp above from its definition: module centres = midpoints
    of the displaced module edges; ideal = least-squares affine grid."""
    edges = np.arange(n_along + 1, dtype=np.float64)
    moved = edges + amplitude * np.sin(2 * np.pi * edges / n_along)
    centre = (moved[:-1] + moved[1:]) / 2
    u, v = np.meshgrid(np.arange(n_along) + 0.5, np.arange(n_across) + 0.5)
    a = np.c_[u.ravel(), v.ravel(), np.ones(u.size)]
    pts = np.c_[np.tile(centre, n_across), v.ravel()]
    coef, *_ = np.linalg.lstsq(a, pts, rcond=None)
    return np.hypot(*(a @ coef - pts).T).max()


@pytest.mark.parametrize("amplitude", [0.25, 0.55, 0.72, 0.87, 1.1])
def test_grid_warp_band(amplitude):
    base = render(_dm())
    img = _warp_columns(base, amplitude)
    gn = _analytic_gn(amplitude, 22, 22)
    # zxing's reader samples a plain perspective grid and loses strongly warped
    # symbols; the warp leaves the outline in place, so the clean image's
    # corners locate it (the grader's own reading follows the clock track).
    out = g2.grade_2d(img, result=clean_result(base))
    p = out["parameters"]["grid_nonuniformity"]
    assert p["value"] == pytest.approx(gn, abs=0.04)
    assert p["grade"] == g2.band("grid_nonuniformity", gn)
    others_high(out, {"grid_nonuniformity"})


def test_feed_jitter_rows_band():
    # non-uniform row pitch (thermal printer feed): measured on the right clock track
    base = render(_dm())
    img = _warp_columns(base, 0.55, axis=0)
    gn = _analytic_gn(0.55, 22, 22)
    out = g2.grade_2d(img, result=clean_result(base))
    p = out["parameters"]["grid_nonuniformity"]
    assert p["value"] == pytest.approx(gn, abs=0.04) and p["grade"] == g2.band("grid_nonuniformity", gn) == 3
    others_high(out, {"grid_nonuniformity"})


# ------------------------------------------------------- fixed pattern damage
@pytest.mark.parametrize("n,segment_grade", [(1, 3), (2, 2), (3, 1), (5, 0)])
def test_l_finder_damage(n, segment_grade):
    m = _dm().copy()
    m[8:8 + n, 0] = False  # erase a run of the L finder's vertical leg
    out = g2.grade_2d(render(m))
    p = out["parameters"]["fixed_pattern_damage"]
    assert p["segments"]["L1"] == segment_grade
    assert p["grade"] == segment_grade  # AG (3.8 / 3.6 / 3.4 / 3.2) is never lower here
    assert {k: v for k, v in p["segments"].items() if k != "L1"} == {"L2": 4, "QZL1": 4, "QZL2": 4, "OCTASA": 4}
    assert out["parameters"]["quiet_zone"]["grade"] == 4
    others_high(out, {"fixed_pattern_damage"}, floor=4)


def test_clock_track_damage():
    m = _dm().copy()
    m[0, 4] = m[0, 8] = False  # two dark clock modules erased: 2 of 90 OCTASA modules
    out = g2.grade_2d(render(m))
    p = out["parameters"]["fixed_pattern_damage"]
    assert p["segments"]["OCTASA"] == 3 and p["grade"] == 3
    others_high(out, {"fixed_pattern_damage"}, floor=4)


def test_missing_quiet_zone_fails_fpd():
    img = render(_dm())[:, Q * X:]  # cropped at the L finder: no left quiet zone
    out = g2.grade_2d(img)
    p = out["parameters"]["fixed_pattern_damage"]
    assert p["segments"]["QZL1"] == 0 and p["grade"] == 0 and out["grade"] == 0.0
    assert any("outside the image" in n for n in out["notes"])
    # the informative quiet-zone figure: the 24 missing left-side modules
    assert out["parameters"]["quiet_zone"] == {"value": 24, "grade": 0, "informative": True}
    others_high(out, {"fixed_pattern_damage", "quiet_zone"})


# --------------------------------------------------- unused error correction
@pytest.mark.parametrize("e", [1, 3, 5, 7, 9])
def test_uec_counts_damaged_codewords(e):
    m = _dm().copy()
    lay = g2.dm_layout(*m.shape)
    for cw in range(0, 5 * e, 5):  # invert every module of e codewords
        rc = lay.cw_modules[cw]
        m[rc[:, 0], rc[:, 1]] ^= True
    out = g2.grade_2d(render(m))
    p = out["parameters"]["unused_error_correction"]
    expected = 1 - 2 * e / 20
    assert p["value"] == pytest.approx(expected, abs=1e-9)
    assert p["grade"] == g2.band("unused_error_correction", expected)
    # independent check: zxing-cpp's own figure (1 - 2t/d, truncated) within one
    # codeword; below 0.1 zxing-cpp 3.1 drops the leading zero (0.09 -> "0.9")
    if expected >= 0.1:
        assert abs(p["zxing_uec"] - expected) <= 0.1 + 1e-9
    # the wrong-colour modules are erasures for reflectance margin: RM <= MOD
    assert out["parameters"]["reflectance_margin"]["grade"] <= out["parameters"]["modulation"]["grade"]
    others_high(out, {"unused_error_correction", "reflectance_margin"}, floor=4)


@pytest.mark.parametrize("block", [(3, 3, 3, 3), (3, 3, 4, 5), (5, 5, 6, 6)])
def test_uec_erased_block(block):
    r0, c0, h, w = block
    m = _dm().copy()
    m[r0:r0 + h, c0:c0 + w] = False
    changed = m != _dm()
    lay = g2.dm_layout(*m.shape)
    touched = int(changed[lay.cw_modules[..., 0], lay.cw_modules[..., 1]].any(1).sum())
    out = g2.grade_2d(render(m))
    p = out["parameters"]["unused_error_correction"]
    assert abs(p["value"] - (1 - 2 * touched / 20)) <= 2 / 20 + 1e-9  # +-1 codeword
    if p["value"] >= 0.1:
        assert abs(p["zxing_uec"] - p["value"]) <= 0.1 + 1e-9


def test_qr_uec_and_finder_damage():
    m = _qr().copy()
    lay = g2.qr_layout(2, "M", 0)  # positions only: the mask does not move modules
    for cw in (3, 10, 20):
        rc = lay.cw_modules[cw]
        m[rc[:, 0], rc[:, 1]] ^= True
    m[2, 2] = False  # one module of the top-left finder's centre
    out = g2.grade_2d(render(m, 8, q=5))
    p = out["parameters"]
    assert p["unused_error_correction"]["value"] == pytest.approx(1 - 6 / 16)
    assert p["fixed_pattern_damage"]["segments"]["A1"] == 3
    assert p["symbol_contrast"]["grade"] == p["axial_nonuniformity"]["grade"] == p["grid_nonuniformity"]["grade"] == 4


def test_qr_missing_quiet_zone():
    img = render(_qr(), 8, q=5)[:, 5 * 8 - 8:]  # one module of the four left
    out = g2.grade_2d(img)
    assert out["parameters"]["fixed_pattern_damage"]["segments"]["QZ"] == 0
    assert out["parameters"]["quiet_zone"]["grade"] == 0
    assert out["parameters"]["decode"]["grade"] == 4


# --------------------------------------------------------------- blur, growth
def test_blur_lowers_modulation_not_decode():
    base = render(_dm())
    previous = 4
    for sigma, most in ((1.0, 4), (3.0, 3), (4.0, 1)):
        out = g2.grade_2d(blur(base, sigma))
        p = out["parameters"]
        assert p["decode"]["grade"] == 4
        assert p["modulation"]["grade"] <= most and p["modulation"]["grade"] <= previous
        assert p["reflectance_margin"]["grade"] <= p["modulation"]["grade"]
        assert p["symbol_contrast"]["grade"] == p["axial_nonuniformity"]["grade"] == 4
        previous = p["modulation"]["grade"]
    assert previous <= 1


@pytest.mark.parametrize("k", [1, 2])
def test_print_growth_reported(k):
    out = g2.grade_2d(dilate_dark(render(_dm()), k))
    p = out["parameters"]["print_growth"]
    # dark modules 2k px wider on a 10 px module
    assert p["horizontal"] == pytest.approx(2 * k / X, abs=0.03)
    assert p["vertical"] == pytest.approx(2 * k / X, abs=0.03)
    assert p["grade"] is None
    assert out["parameters"]["axial_nonuniformity"]["grade"] == out["parameters"]["grid_nonuniformity"]["grade"] == 4


def test_print_loss_is_negative():
    out = g2.grade_2d(255 - dilate_dark(255 - render(_dm()), 1))
    assert out["parameters"]["print_growth"]["value"] == pytest.approx(-0.2, abs=0.03)


# ------------------------------------------------------ aperture, rotations
def test_aperture_in_mils_needs_dpi():
    img = render(_dm())
    assert g2.grade_2d(img, aperture=0.5)["aperture_x"] == 0.5
    # 10 px modules at 300 dpi; aperture 08 = 0.008 in = 2.4 px = 0.24 X
    out = g2.grade_2d(img, aperture="08", dpi=300)
    assert out["aperture_x"] == pytest.approx(0.24, abs=0.005) and out["aperture_ref"] == "08"
    out = g2.grade_2d(img, aperture="08")
    assert out["aperture_x"] == 0.8 and any("without dpi" in n for n in out["notes"])


def test_rotated_symbol_stays_grade_4():
    from PIL import Image

    img = Image.fromarray(render(_dm(), 8, q=6).astype(np.uint8))
    for angle in (30, 180):
        out = g2.grade_2d(np.asarray(img.rotate(angle, resample=Image.BILINEAR, expand=True, fillcolor=255), np.float64))
        assert out["grade"] == 4.0, (angle, grades(out))


# ----------------------------------------------------------- layout & codec
@pytest.mark.parametrize("text,kw", [("AB", {"force_square": True}), ("7" * 100, {"force_square": True}),
                                     ("ABCDEFGHIJ", {}), (GS1, {"gs1": True})])
def test_dm_layout_matches_zxing_symbols(text, kw):
    # fixed patterns as specified and every RS block with zero syndromes
    m = np.asarray(zxingcpp.create_barcode(text, zxingcpp.DataMatrix, **kw).to_image(add_quiet_zones=False)) < 128
    lay = g2.dm_layout(*m.shape)
    known = lay.fixed >= 0
    assert (m[known] == (lay.fixed[known] == 1)).all()
    errors, _ = g2.correct_codewords(g2.read_codewords(m, lay), lay)
    assert errors == [0] * len(lay.blocks)


def test_rs_decoder_counts_and_corrects_errors():
    rng = np.random.default_rng(3)
    m = _dm()
    lay = g2.dm_layout(*m.shape)
    good = g2.read_codewords(m, lay)
    for t in (0, 4, 10, 11):
        bad = good.copy()
        pos = rng.choice(len(good), t, replace=False)
        bad[pos] ^= rng.integers(1, 256, t)
        errors, fixed = g2.correct_codewords(bad, lay)
        if t <= 10:
            assert errors == [t] and (fixed == good).all()
        else:
            assert errors == [None]
