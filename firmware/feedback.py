# Immediate feedback patterns, as data: each is a list of steps
# (buzzer Hz or 0, LED colour, vibration on, milliseconds).  Distinct by
# pitch, rhythm and colour so an operator knows without looking.

OFF = (0, 0, 0)
GREEN = (0, 255, 0)
RED = (255, 0, 0)
AMBER = (255, 120, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
COLOURS = {"-": OFF, "G": GREEN, "R": RED, "A": AMBER, "B": BLUE, "W": WHITE}

# One line per pattern: name, then steps of "Hz colour vibration ms" (colour
# letters in COLOURS, "v" = vibration on, "." = off); gateway_bad/good: the
# gateway's final verdict differs from the pre-check.  A str constant stays
# in flash on the handheld; play() reads the one it needs.
PATTERNS = """
good 2700 G . 80  0 G . 150
bad 600 R v 250  0 - . 80  600 R v 250
unknown 1500 A . 120  0 A . 200
duplicate 2000 B . 40  0 - . 40  2000 B . 40
queue_full 400 R v 600  0 R . 200  400 R v 600
offline 0 A . 60  0 - . 60  0 A . 60
gateway_bad 500 R v 400  0 - . 100  500 R v 400  0 - . 100  500 R v 400
gateway_good 2700 G . 60  0 - . 60  2700 G . 60
mode 1800 W . 60  2400 W . 60
engine_error 300 A v 800
"""


def steps(name):
    # The steps of a pattern as ((hz, colour, vibration, ms), ...); an
    # unknown name plays "unknown".
    i = PATTERNS.find("\n" + name + " ")
    if i < 0:
        return steps("unknown")
    words = PATTERNS[i + len(name) + 2 : PATTERNS.find("\n", i + 1)].split()
    out = []
    for k in range(0, len(words), 4):
        out.append((int(words[k]), COLOURS[words[k + 1]], words[k + 2] == "v", int(words[k + 3])))
    return tuple(out)


class Feedback:
    # Plays one pattern at a time without blocking: poll() advances it.
    def __init__(self, board):
        self.board = board
        self.steps = ()
        self.i = 0
        self.until = 0
        self.played = []  # names, for tests and the heartbeat
        self._last = (None, ())  # the pattern played last, parsed: scans repeat it

    def play(self, name, now_ms):
        last = self._last
        if last[0] != name:
            last = self._last = (name, steps(name))
        self.steps = last[1]
        self.i = 0
        self.until = now_ms
        self.played.append(name)
        if len(self.played) > 32:
            self.played.pop(0)
        self.poll(now_ms)

    def set_volume(self, volume):
        # Beep loudness 0-100 % (settings "feedback.volume"), at boot and
        # whenever the gateway pushes it: the next beep already has it.
        if self.board.buzzer is not None:
            self.board.buzzer.set_volume(volume)

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
