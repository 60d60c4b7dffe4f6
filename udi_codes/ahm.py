# AHM code (阿里健康) — codes.md §3.3.  No public specification, check rule or
# confirmed example exists, so an MF code is recognised and routed only: the
# engine can say neither valid nor invalid, and records no errors.

from . import result


def looks_like(data):
    return data.startswith("MF")


def parse(data, res, opts):
    res["scheme"] = "ahm"
    res["di"] = data
    result.element(res, "payload", "AHM code (阿里健康码), unparsed", data)
    result.note(res, "ahm_no_public_spec", "AHM code recognised and routed; no public specification, not validated")
    result.warning(
        res,
        "unverified_scheme",
        "AHM (阿里健康) code: structure and check character unknown, content not verified",
    )
    return res
