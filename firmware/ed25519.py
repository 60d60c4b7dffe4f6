"""Ed25519 signature verification (RFC 8032, section 5.1), verify only.

    import ed25519
    ed25519.verify(public_key_32_bytes, message, signature_64_bytes) -> True / False

Written from the RFC's definitions: the twisted Edwards curve
-x^2 + y^2 = 1 + d*x^2*y^2 over GF(p), p = 2^255 - 19, points in extended
homogeneous coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z, the
addition and doubling formulas of 5.1.4, decoding of 5.1.3 and the check of
5.1.7 in its cofactorless form: compute R' = [S]B - [k]A and compare its
encoding with the R bytes of the signature (the same check OpenSSL and
`cryptography` make; it also rejects a non-canonical R).  S >= L is refused.

Runs on MicroPython (long ints, `pow(a, e, m)`, `int.from_bytes`) and CPython.
SHA-512 comes from `hashlib` when the port has it, else from `sha512.py`.
No secrets are handled here, so nothing needs to be constant-time.

Cost: one double-scalar multiplication (~250 doublings, ~190 additions), two
modular exponentiations and the SHA-512 of R || A || message: about 10 ms on the
unix VM for a short message, +0.7 ms per 128 bytes (pure-Python SHA-512 there);
not yet measured on an ESP32.
"""

try:
    from hashlib import sha512 as _sha512  # type: ignore[attr-defined]  # CPython has it, the ESP32 not (below)
except ImportError:  # MicroPython: hashlib has only sha1/sha256
    from sha512 import sha512 as _sha512

# p = 2^255 - 19
_P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
# L = 2^252 + 27742317777372353535851937790883648493 (order of B)
_L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
# d = -121665 / 121666 mod p
_D = 0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3
_D2 = (2 * _D) % _P
# sqrt(-1) = 2^((p-1)/4) mod p
_SQRT_M1 = 0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0
# Base point B: y = 4/5, x positive (even)
_BX = 0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A
_BY = 0x6666666666666666666666666666666666666666666666666666666666666658


def _pow(b, e):
    try:
        return pow(b, e, _P)
    except (TypeError, NotImplementedError, ValueError):  # a port without 3-argument pow
        r = 1
        b %= _P
        while e:
            if e & 1:
                r = r * b % _P
            b = b * b % _P
            e >>= 1
        return r


def _add(p1, p2):
    # RFC 8032 5.1.4, addition (also valid for doubling, but slower).
    P = _P
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * _D2 % P * t2 % P
    d = 2 * z1 * z2 % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(p1):
    # RFC 8032 5.1.4, doubling.
    P = _P
    x1, y1, z1, _ = p1
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    s = x1 + y1
    e = h - s * s % P
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _decode_point(s):
    # RFC 8032 5.1.3.  Returns None for an invalid encoding.
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    x0 = y >> 255
    y &= (1 << 255) - 1
    P = _P
    if y >= P:
        return None
    yy = y * y % P
    u = (yy - 1) % P
    v = (_D * yy + 1) % P
    # candidate root x = u v^3 (u v^7)^((p-5)/8)
    v3 = v * v % P * v % P
    x = u * v3 % P * _pow(u * v3 % P * v3 % P * v % P, (P - 5) >> 3) % P
    vxx = v * x % P * x % P
    if vxx != u:
        if vxx == (P - u) % P:
            x = x * _SQRT_M1 % P
        else:
            return None
    if x == 0 and x0:
        return None
    if (x & 1) != x0:
        x = P - x
    return (x, y, 1, x * y % P)


def _encode_point(pt):
    x, y, z, _ = pt
    zi = _pow(z, _P - 2)
    x = x * zi % _P
    y = y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _double_scalar_mult(s, p1, k, p2, tick=None):
    # [s]p1 + [k]p2, one shared doubling chain (Straus/Shamir), 2-bit table.
    p12 = _add(p1, p2)
    q = (0, 1, 1, 0)  # neutral element
    # Both scalars are < L < 2^253 (MicroPython ints have no bit_length()).
    i = 252
    while i >= 0 and not ((s >> i) & 1 or (k >> i) & 1):
        i -= 1
    while i >= 0:
        if tick is not None and not (i & 63):
            tick()
        q = _double(q)
        bs = (s >> i) & 1
        bk = (k >> i) & 1
        if bs:
            q = _add(q, p12 if bk else p1)
        elif bk:
            q = _add(q, p2)
        i -= 1
    return q


def verify(public_key, message, signature, tick=None):
    """True if `signature` (64 bytes) is a valid Ed25519 signature of `message`
    by `public_key` (32 bytes).  Never raises on malformed input.

    `tick` (optional, e.g. a watchdog feed) is called every 1 KB of hashing and
    every 64 steps of the scalar multiplication: on a slow port the pure-Python
    SHA-512 of a few KB of manifest can take seconds."""
    try:
        public_key = bytes(public_key)
        signature = bytes(signature)
        message = bytes(message)
    except (TypeError, ValueError):
        return False
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decode_point(public_key)
    if a is None:
        return False
    r_bytes = signature[:32]
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = _sha512(r_bytes)
    h.update(public_key)
    mv = memoryview(message)
    for i in range(0, len(message), 1024):
        if tick is not None:
            tick()
        h.update(mv[i : i + 1024])
    k = int.from_bytes(h.digest(), "little") % _L
    neg_a = ((_P - a[0]) % _P, a[1], a[2], (_P - a[3]) % _P)
    base = (_BX, _BY, 1, _BX * _BY % _P)
    return _encode_point(_double_scalar_mult(s, base, k, neg_a, tick)) == r_bytes
