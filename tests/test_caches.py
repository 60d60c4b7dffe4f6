"""The engine's caches never change a result: a warm stream of site-like
codes (shared GTINs, lots and dates; new serials) gives exactly what each
code gives on its own with every cache empty."""

import random

import udi_codes
from bench import corpus
from conftest import TODAY
from test_vectors import VECTORS
from udi_codes import gs1, gs1_dl, ma


def clear_all():
    for module in (gs1, gs1_dl, ma):
        module.clear_caches()


def test_warm_and_cold_results_are_identical():
    codes = corpus.make(1500, seed=7) + [v[0] for v in VECTORS]
    random.Random(3).shuffle(codes)
    codes = codes + codes[:300]  # repeats: the same code again, now from the caches
    warm = [udi_codes.parse(c, "read", TODAY) for c in codes]
    for c, w in zip(codes, warm):
        clear_all()
        assert udi_codes.parse(c, "read", TODAY) == w, c


def test_profile_and_reference_date_are_not_mixed_up_by_caches():
    raw = "]d2010690123456789211240101172502001012345678\x1d21ABC"
    for _ in range(2):
        read = udi_codes.parse(raw, "read", TODAY)
        printed = udi_codes.parse(raw, "print", TODAY)
        past = udi_codes.parse(raw, "read", "2020-01-01")
        assert read["valid"] and not printed["valid"]
        assert [w["code"] for w in read["warnings"]] == ["dd00_date", "expired"]
        assert [w["code"] for w in past["warnings"]] == ["dd00_date"]
