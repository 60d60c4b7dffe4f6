# The result contract every scheme module fills in: a plain dict, so that it
# serialises to JSON unchanged on CPython and on MicroPython.
#
# Errors make a code invalid; warnings do not; notes say what could not be
# checked (e.g. secret check digits).  Every entry is
# {"code": stable-id, "message": English text, "at": position or AI or None};
# translations live in udi_codes.messages, keyed by code.


def new(raw, scheme, symbology=None):
    return {
        "raw": raw,
        "scheme": scheme,
        "symbology": symbology,
        "valid": False,
        "errors": [],
        "warnings": [],
        "notes": [],
        "elements": [],
        "di": None,
        "pi": {},
        "hri": None,
        "dl_uri": None,
        "package_level": None,
    }


def _entry(code, message, at):
    return {"code": code, "message": message, "at": at}


def error(res, code, message, at=None):
    res["errors"].append(_entry(code, message, at))


def warning(res, code, message, at=None):
    res["warnings"].append(_entry(code, message, at))


def note(res, code, message, at=None):
    res["notes"].append(_entry(code, message, at))


def element(res, key, title, value, name="key"):
    # GS1 elements are keyed by "ai", the other schemes by "key".
    res["elements"].append({name: key, "title": title, "value": value})


def finish(res):
    # A result is valid exactly when no error was recorded.
    res["valid"] = not res["errors"]
    return res


def has_code(res, code):
    for e in res["errors"]:
        if e["code"] == code:
            return True
    for e in res["warnings"]:
        if e["code"] == code:
            return True
    return False


def is_parent(res):
    # A logistic unit (SSCC) or a package level above the unit (GTIN indicator
    # 1-8, HIBC U/M 1-8, MA packaging digit >= 1) is a parent in aggregation;
    # the handheld and the gateway both decide with this.
    if res is None:
        return False
    if res.get("pi", {}).get("sscc"):
        return True
    level = res.get("package_level")
    return isinstance(level, int) and 1 <= level <= 8
