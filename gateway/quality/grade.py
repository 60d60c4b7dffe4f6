"""Grade a label image the way a verifier does: find every symbol, decode
it, compare the data byte for byte with what was meant, validate it with
the code engine, and grade it (ISO/IEC 15415 for 2D, 15416 for linear —
gateway.quality.grade2d / grade1d), with the X-dimension against GS1's
healthcare table.  ISO-based measurements from an image, not a certified
verifier; without a calibration the grades are relative
(docs/quality.md)."""

import udi_codes
from gateway.quality.reflectance import to_gray

# GS1 healthcare minimum grades and X-dimension ranges (GS1 General
# Specifications, healthcare tables; printing.md §4.4): (min X mm, max X mm,
# min grade, aperture in mils, wavelength nm)
HEALTHCARE = {
    "2d": {"x_min": 0.254, "x_max": 0.990, "grade": 1.5, "aperture": "08", "wavelength": "660"},
    "linear": {"x_min": 0.250, "x_max": 0.495, "grade": 1.5, "aperture": "06", "wavelength": "660"},
}
LINEAR_FORMATS = ("Code128", "EAN13", "EAN8", "UPCA", "UPCE", "ITF", "ITF14", "DataBar", "DataBarExp", "Code39")
LETTERS = ((3.5, "A"), (2.5, "B"), (1.5, "C"), (0.5, "D"), (-1, "F"))


def letter(grade):
    return next(ch for floor, ch in LETTERS if grade >= floor)


def scan_data(barcode):
    # What a scanner sends: the AIM identifier, then the data with FNC1 as GS.
    try:
        data = barcode.bytes.decode("utf-8")
    except UnicodeDecodeError:
        data = barcode.bytes.decode("latin-1")
    return barcode.symbology_identifier + data


def expected_scan_data(expect, symbology_id):
    """`expect` as raw scan data (with its AIM id and GS) is taken as is;
    bracketed GS1 HRI "(01)…" is turned into the scan data a reader of this
    symbology would send (the engine's encoder), so the comparison stays
    byte for byte."""
    if expect is None:
        return None
    if expect.startswith("]"):
        return expect
    if expect.startswith("("):
        res = udi_codes.parse(expect, "read")
        if res["scheme"] == "gs1" and res["elements"]:
            from udi_codes import gs1

            return gs1.to_scan_data([(e["ai"], e["value"]) for e in res["elements"]], symbology_id)
    return symbology_id + expect


def format_name(barcode):
    # zxing-cpp 3.1: .format.name is "Code128", str(.format) is "Code 128"
    f = barcode.format
    return getattr(f, "name", None) or str(f).split(".")[-1]


def kind_of(barcode):
    return "linear" if format_name(barcode) in LINEAR_FORMATS else "2d"


def grade_image(image, dpi=None, expect=None, calibration=None, today=None, grade2d=None, grade1d=None):
    """-> one result per symbol found (most prominent first).  `expect`: one
    string or a list (each symbol is matched to the expected one with the
    same data, else the first unmatched)."""
    import zxingcpp

    gray = to_gray(image)
    found = zxingcpp.read_barcodes(gray.astype("uint8"), text_mode=zxingcpp.TextMode.Plain)
    expects = [expect] if isinstance(expect, str) else list(expect or [])
    if not found:
        return [{"decoded": None, "match": False if expects else None, "valid": False,
                 "overall": {"grade": 0.0, "letter": "F", "notation": "0.0"},
                 "parameters": {"decode": {"value": 0, "grade": 0}}, "error": "no symbol could be decoded"}]
    out = []
    unmatched = list(expects)
    for bc in found:
        out.append(grade_symbol(gray, bc, unmatched, dpi, calibration, today, grade2d, grade1d))
    return out


def grade_symbol(gray, bc, unmatched, dpi, calibration, today, grade2d=None, grade1d=None):
    decoded = scan_data(bc)
    kind = kind_of(bc)
    want = None
    for e in list(unmatched):
        if expected_scan_data(e, bc.symbology_identifier) == decoded:
            want = e
            break
    if want is None and unmatched:
        want = unmatched[0]
    if want is not None:
        unmatched.remove(want)
    res = udi_codes.parse(decoded, "read", today)
    if kind == "2d":
        from gateway.quality.grade2d import grade_2d

        # GS1 healthcare's 2D aperture is 08 (0.008 in); it needs the image's dpi
        g = (grade2d or grade_2d)(gray, bc, calibration=calibration, dpi=dpi, aperture=HEALTHCARE["2d"]["aperture"] if dpi else None)
    else:
        from gateway.quality.grade1d import grade_linear

        g = (grade1d or grade_linear)(gray, bc, calibration=calibration, dpi=dpi)  # reports its aperture_ref
    spec = HEALTHCARE[kind]
    x_mm = round(g["x_dim_px"] / dpi * 25.4, 3) if dpi and g.get("x_dim_px") else None
    grade = float(g["grade"])
    if not res["valid"]:
        grade = 0.0  # a readable code that is not valid (GS1, HIBC, …) fails
    if want is not None and expected_scan_data(want, bc.symbology_identifier) != decoded:
        grade = 0.0  # the wrong data, however well printed
    quiet = g["parameters"].get("quiet_zone") or g["parameters"].get("fixed_pattern_damage")
    return {
        "decoded": decoded,
        "symbology": format_name(bc),
        "match": None if want is None else expected_scan_data(want, bc.symbology_identifier) == decoded,
        "expected": None if want is None else expected_scan_data(want, bc.symbology_identifier),
        "valid": res["valid"],
        "errors": [e["code"] for e in res["errors"]],
        "overall": {"grade": round(grade, 1), "letter": letter(grade),
                    # the aperture actually used: GS1's when the dpi was known, else "x" (a fraction of X)
                    "notation": "%.1f/%s/%s" % (grade, g.get("aperture_ref") or "x%.1f" % g.get("aperture_x", 0.8), spec["wavelength"]),
                    "minimum": spec["grade"], "passes": grade >= spec["grade"]},
        "parameters": g["parameters"],
        "x_dimension_mm": x_mm,
        "x_dimension_ok": None if x_mm is None else spec["x_min"] <= x_mm <= spec["x_max"],
        "quiet_zone_ok": None if quiet is None else quiet["grade"] >= 1,
        "relative": calibration is None,
        "position": [[p.x, p.y] for p in (bc.position.top_left, bc.position.top_right,
                                           bc.position.bottom_right, bc.position.bottom_left)],
        "notes": g.get("notes", []),
    }
