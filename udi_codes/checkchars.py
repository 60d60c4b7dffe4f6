# Check-character algorithms, one function per standard.


def gs1_mod10(body):
    # GS1 mod-10 over the digits before the check digit: weights 3,1,3,...
    # from the right.  Returns the expected check digit as a str.
    total = 0
    w = 3
    for c in reversed(body):
        total += (ord(c) - 48) * w
        w ^= 2  # 3 -> 1 -> 3
    return chr(48 + (10 - total % 10) % 10)


def gs1_mod10_ok(s):
    return len(s) > 1 and gs1_mod10(s[:-1]) == s[-1]


HIBC_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


def hibc_mod43(s):
    # HIBC / Code 39 mod-43 over every character from the leading "+".
    # Returns the check character or None when s has a character outside the set.
    total = 0
    for c in s:
        v = HIBC_CHARS.find(c)
        if v < 0:
            return None
        total += v
    return HIBC_CHARS[total % 43]
