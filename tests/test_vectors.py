"""Every test vector of shared/reference/codes.md §9 through the one engine."""

import os

import pytest

import udi_codes
from conftest import TODAY

HERE = os.path.dirname(os.path.abspath(__file__))


def load_vectors():
    rows = []
    with open(os.path.join(HERE, "vectors", "codes_md.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line.startswith("raw_string\t"):
                continue
            raw, expected, fmt, reason = line.rstrip("\n").split("\t")
            rows.append((raw.replace("\\x1d", "\x1d"), expected, fmt, reason))
    return rows


VECTORS = load_vectors()

# Rows where the contract deliberately differs from the table's verdict.
# MA check characters use an unofficial algorithm: a mismatch is a warning.
MA_CHECK_ROWS = {
    "MA.156.M0.100350.01004YA10018.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3",
    "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C4",
}
# "]C0+A123…" is invalid *as GS1*; the engine reads it as the HIBC it is.
NOT_GS1_ROWS = {"]C0+A123BJC5D6E71G": "hibc"}
# A lone HIBC secondary cannot know its primary: the link character is
# checked when the two symbols are paired (hibc.check_link).
PAIRED_ROWS = {"+$$52001510X3HE": "+A123BJC5D6E71G"}


def test_all_rows_loaded():
    assert len(VECTORS) == 75


@pytest.mark.parametrize("raw,expected,fmt,reason", VECTORS, ids=[v[0][:40] for v in VECTORS])
def test_vector(raw, expected, fmt, reason):
    res = udi_codes.parse(raw, today=TODAY)
    if raw in MA_CHECK_ROWS:
        assert res["valid"] is True
        assert any(w["code"] == "ma_check_mismatch" for w in res["warnings"])
        return
    if raw in PAIRED_ROWS:
        from udi_codes import hibc

        primary = udi_codes.parse(PAIRED_ROWS[raw], today=TODAY)
        assert res["valid"] and primary["valid"]
        assert hibc.check_link(primary, res) is not None
        return
    if raw in NOT_GS1_ROWS:
        assert res["scheme"] == NOT_GS1_ROWS[raw]
        return
    assert res["valid"] is (expected == "valid"), (res["errors"], reason)
    assert not any(e["code"] == "internal_error" for e in res["errors"])
    if expected == "invalid":
        assert res["errors"] and all(e["message"] for e in res["errors"])


@pytest.mark.parametrize(
    "raw,scheme",
    [
        ("]d201069012345678921727123110LOT2024A\x1d21SN0001", "gs1"),
        ("+A123BJC5D6E71G", "hibc"),
        ("MA.156.M0.100204.13351764", "ma"),
        ("81234567890123456789", "cn-drug"),
        ("XA02BCA211A012010100154", "nhsa-drug"),
        ("C0344051070500007551", "nhsa-consumable"),
        ("]d1010690123456789217271231", "unknown"),
        ("hello world", "unknown"),
    ],
)
def test_scheme_ids(raw, scheme):
    assert udi_codes.parse(raw, today=TODAY)["scheme"] == scheme


def test_hibc_pair_with_matching_link_is_accepted():
    from udi_codes import hibc

    primary = udi_codes.parse("+A123BJC5D6E71G", today=TODAY)
    secondary = udi_codes.parse("+$$52001510X3GD", today=TODAY)
    assert hibc.check_link(primary, secondary) is None
