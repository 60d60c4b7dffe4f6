"""Query parameter types shared by the routers: pagination (limit + an
opaque keyset cursor), times, and bounded text."""

import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, StringConstraints

from gateway.api.deps import unprocessable

MAX_ID = 2**31 - 1  # Integer columns are 32-bit on PostgreSQL

# Text a filter compares with a column: bounded, and no NUL (PostgreSQL
# refuses NUL in text, which would be a 500 instead of "no match").
Text = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00]*$")]

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (1-1000).")]
CursorParam = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page; omit for the first page.")]


def _unix(value):
    # ISO 8601 (an offset, or UTC when none) or Unix seconds -> Unix seconds.
    if value is None:
        return None
    try:
        t = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(t):
            raise ValueError("expected Unix seconds or an ISO 8601 date-time, got %r" % value)
        return t
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time (e.g. 2026-11-22T08:00:00+08:00) or Unix seconds, got %r" % value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


Time = Annotated[str | None, AfterValidator(_unix)]


def encode_cursor(kind, *key):
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, kind, *types):
    # -> the key tuple of a cursor this API gave out for `kind`, or a 422.
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, list) or data[0] != kind or len(data) != len(types) + 1:
            raise ValueError
        key = tuple(data[1:])
        for v, t in zip(key, types):
            if not isinstance(v, t) or isinstance(v, bool) or (isinstance(v, int) and not -MAX_ID <= v <= MAX_ID):
                raise ValueError
        return key
    except (ValueError, TypeError, IndexError, binascii.Error, UnicodeDecodeError):
        raise unprocessable(["query", "cursor"], "not a cursor of this listing: pass next_cursor from the previous page unchanged", cursor)


def page(rows, limit, cursor_of):
    # Rows were fetched with limit + 1: the extra row only says there is more.
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": cursor_of(rows[-1]) if more else None}
