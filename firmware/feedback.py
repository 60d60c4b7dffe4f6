# Immediate feedback patterns, as data: each is a list of steps
# (buzzer Hz or 0, LED colour, vibration on, milliseconds).  Distinct by
# pitch, rhythm and colour so an operator knows without looking.

OFF = (0, 0, 0)
GREEN = (0, 255, 0)
RED = (255, 0, 0)
AMBER = (255, 120, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)

PATTERNS = {
    "good": ((2700, GREEN, False, 80), (0, GREEN, False, 150)),
    "bad": ((600, RED, True, 250), (0, OFF, False, 80), (600, RED, True, 250)),
    "unknown": ((1500, AMBER, False, 120), (0, AMBER, False, 200)),
    "duplicate": ((2000, BLUE, False, 40), (0, OFF, False, 40), (2000, BLUE, False, 40)),
    "queue_full": ((400, RED, True, 600), (0, RED, False, 200), (400, RED, True, 600)),
    "offline": ((0, AMBER, False, 60), (0, OFF, False, 60), (0, AMBER, False, 60)),
    # the gateway's final verdict differs from the pre-check
    "gateway_bad": ((500, RED, True, 400), (0, OFF, False, 100), (500, RED, True, 400), (0, OFF, False, 100), (500, RED, True, 400)),
    "gateway_good": ((2700, GREEN, False, 60), (0, OFF, False, 60), (2700, GREEN, False, 60)),
    "mode": ((1800, WHITE, False, 60), (2400, WHITE, False, 60)),
    "engine_error": ((300, AMBER, True, 800),),
}


class Feedback:
    # Plays one pattern at a time without blocking: poll() advances it.
    def __init__(self, board):
        self.board = board
        self.steps = ()
        self.i = 0
        self.until = 0
        self.played = []  # names, for tests and the heartbeat

    def play(self, name, now_ms):
        self.steps = PATTERNS.get(name, PATTERNS["unknown"])
        self.i = 0
        self.until = now_ms
        self.played.append(name)
        if len(self.played) > 32:
            self.played.pop(0)
        self.poll(now_ms)

    def poll(self, now_ms):
        from timebase import ticks_diff, ticks_add

        while self.steps and ticks_diff(now_ms, self.until) >= 0:
            if self.i >= len(self.steps):
                self._set(0, OFF, False)
                self.steps = ()
                return
            hz, colour, vib, ms = self.steps[self.i]
            self._set(hz, colour, vib)
            self.i += 1
            self.until = ticks_add(self.until, ms)

    def _set(self, hz, colour, vib):
        b = self.board
        if b.buzzer is not None:
            b.buzzer.tone(hz)
        if b.led is not None:
            b.led.colour(colour)
        if b.vibration is not None:
            b.vibration.set(vib)
