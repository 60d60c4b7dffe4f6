"""Running a target under atheris (libFuzzer): coverage guidance over the
project's own code only (instrumenting every loaded function, SQLAlchemy and
pydantic included, takes minutes), then libFuzzer's loop."""

import gc
import sys
import types

PACKAGES = ("udi_codes", "gateway")


def fuzz(one_input, argv=None):
    import atheris

    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and (getattr(obj, "__module__", None) or "").split(".")[0] in PACKAGES:
            try:
                atheris.instrument_func(obj)
            except Exception:  # noqa: BLE001 - a function atheris cannot patch runs uninstrumented
                pass
    atheris.Setup(list(argv or sys.argv), one_input)
    atheris.Fuzz()
