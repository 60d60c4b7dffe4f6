# Pre-check on the handheld with the project's one code engine (udi_codes,
# the same source as the gateway).  The rule that matters: the handheld never
# calls "bad" a code the gateway would accept, so anything the engine cannot
# judge for sure (unknown scheme, unverified AHM, an engine failure such as
# running out of memory) is "unknown", and the gateway decides.

import udi_codes

GOOD = "good"
BAD = "bad"
UNKNOWN = "unknown"

# Schemes the engine recognises but cannot validate offline.
UNVERIFIED_SCHEMES = ("ahm", "unknown")


def verdict(res):
    # (verdict, first error code or None, scheme) from an engine result.
    errors = res["errors"]
    scheme = res["scheme"]
    if errors and errors[0]["code"] == "internal_error":
        return UNKNOWN, "internal_error", scheme
    if scheme in UNVERIFIED_SCHEMES:
        return UNKNOWN, errors[0]["code"] if errors else None, scheme
    if errors:
        return BAD, errors[0]["code"], scheme
    return GOOD, None, scheme


def release():
    # The heap ran short: drop what the engine remembers to go faster (it
    # rebuilds only what the next scans need).
    udi_codes.clear_caches()


def check(raw, today=None):
    # raw: str (or bytes) exactly as the scan engine sent it.
    return check_result(raw, today)[0]


def check_result(raw, today=None):
    # -> ((verdict, code, scheme), engine result or None)
    try:
        res = udi_codes.parse(raw, "read", today, lean=True)
    except MemoryError:
        return (UNKNOWN, "memory", None), None
    return verdict(res), res
