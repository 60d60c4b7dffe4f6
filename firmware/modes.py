# What a scan means depends on the handheld's mode: receive (入库),
# dispatch (出库), use (使用/dispense), aggregate (装箱), verify (line check).
# Double scans of the same code within a window are suppressed here.

from timebase import ticks_diff
from udi_codes.result import is_parent  # noqa: F401  (the app asks modes; the rule lives with the result contract)

MODES = ("receive", "dispatch", "use", "aggregate", "verify")


class Modes:
    def __init__(self, settings, boot):
        self.s = settings
        self.boot = boot
        self.mode = settings.get("mode", "receive")
        self._last_raw = None
        self._last_ms = 0
        self._session = 0
        self._open = False  # an aggregation session is collecting
        self._has_parent = False

    def set_mode(self, mode):
        if mode not in MODES:
            return False
        if mode != self.mode:
            self._open = False
        self.mode = mode
        self.s["mode"] = mode
        return True

    def next_mode(self):
        # Long press on the trigger: the next mode in the operator's list.
        order = [m for m in self.s.get("modes", MODES) if m in MODES] or list(MODES)
        i = order.index(self.mode) if self.mode in order else -1
        self.set_mode(order[(i + 1) % len(order)])
        return self.mode

    def duplicate(self, raw, now_ms):
        # True when the same code was read again within the window.
        window = self.s.get("dup_window_ms", 2000)
        dup = raw == self._last_raw and ticks_diff(now_ms, self._last_ms) < window
        self._last_raw = raw
        self._last_ms = now_ms
        return dup

    def aggregation(self, is_parent):
        # The "agg" field of a scan in aggregate mode, else None.  A parent is
        # a logistic unit or a higher package level (the caller decides from
        # the engine's result).
        if self.mode != "aggregate":
            return None
        order = self.s.get("aggregate_order", "children_first")
        if not self._open:
            self._session += 1
            self._open = True
            self._has_parent = False
        sid = "%d-%d" % (self.boot, self._session)
        if order == "parent_first":
            if is_parent and self._has_parent:
                # the next parent starts the next session
                self._session += 1
                sid = "%d-%d" % (self.boot, self._session)
            role = "parent" if is_parent or not self._has_parent else "child"
            if role == "parent":
                self._has_parent = True
        else:
            role = "parent" if is_parent else "child"
            if is_parent:
                self._open = False  # children first: the parent closes it
        return {"session": sid, "role": role, "order": order}

