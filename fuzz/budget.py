"""How many cases a fuzz run makes, and how many it made.

Two budgets: "ci" (the default: a few hundred examples per target, part of
the test suite) and "long" (bench/fuzz.py sets UDI_FUZZ_PROFILE=long).
Every oracle calls count(target) once per case; with UDI_FUZZ_COUNTS=<file>
set, the counts are written there as JSON when the process ends, which is
how bench/fuzz.py learns how many cases pytest ran."""

import atexit
import collections
import json
import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("UDI_FUZZ_PROFILE", "ci")
SCALE = {"ci": 1, "long": int(os.environ.get("UDI_FUZZ_LONG_SCALE", "40"))}

CASES = collections.Counter()


def count(target):
    CASES[target] += 1


def examples(ci):
    """The example budget of a test whose CI budget is `ci`."""
    return ci * SCALE.get(PROFILE, 1)


def fuzz_settings(ci, **kw):
    """Hypothesis settings for a fuzz test: `ci` examples in the suite, SCALE
    times more under the long profile; no deadline (a shared 2-core machine
    gives no stable timing) and no example database (runs stay independent)."""
    return settings(max_examples=examples(ci), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
                    **kw)


def _write_counts():
    path = os.environ.get("UDI_FUZZ_COUNTS")
    if path and CASES:
        try:
            with open(path) as f:
                have = collections.Counter(json.load(f))
        except (OSError, ValueError):
            have = collections.Counter()
        have.update(CASES)
        with open(path, "w") as f:
            json.dump(dict(have), f)


atexit.register(_write_counts)
