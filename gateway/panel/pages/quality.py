"""Label quality: checks failures first, per-job summary, per-printer trend, images."""

import io
import os
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from starlette.concurrency import run_in_threadpool

from gateway.panel import i18n
from gateway.quality import grade as qgrade
from gateway.schema import (
    label_checks,
    print_jobs,
    serials,
)

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import Viewer, engine_of, lang_of, page

router = APIRouter()

# --- label quality ---------------------------------------------------------------------------------

QUALITY_ROWS = 300
THUMB_PX = 160
REASONS = (  # LineVerifier's reasons (gateway.quality.line) -> words in the panel's language
    (re.compile(r"^no symbol could be decoded$"), "q.why.nodecode"),
    (re.compile(r"^data does not match what was sent$"), "q.why.mismatch"),
    (re.compile(r"^decoded data is not a valid code: ?(?P<detail>.*)$"), "q.why.invalid"),
    (re.compile(r"^grade (?P<grade>[\d.]+) below (?P<min>[\d.]+)$"), "q.why.grade"),
)


def reason_words(reason, lang):
    if not reason:
        return ""
    for rx, key in REASONS:
        m = rx.match(reason)
        if m:
            return i18n.t(lang, key, **m.groupdict())
    return reason


def grade_letter(grade):
    return None if grade is None else qgrade.letter(grade)


def _summary_rows(c, job):
    q = (select(label_checks.c.job_id, func.count(), func.sum(case((label_checks.c.passed.is_(True), 1), else_=0)),
                func.avg(label_checks.c.grade), func.min(label_checks.c.at), print_jobs.c.printer)
         .select_from(label_checks.outerjoin(print_jobs, print_jobs.c.id == label_checks.c.job_id))
         .group_by(label_checks.c.job_id, print_jobs.c.printer))
    if job is not None:
        q = q.where(label_checks.c.job_id == job)
    out = []
    for job_id, n, ok, mean, first, printer in c.execute(q):
        ok = int(ok or 0)
        out.append({"job": job_id, "checked": n, "passed": ok, "failed": n - ok,
                    "mean": None if mean is None else round(float(mean), 2),
                    "letter": grade_letter(mean), "first": first, "printer": printer or "-"})
    return out


def trend_chart(points, w=320, h=90, pad=14):
    """Mean grade (0-4) per job in time order -> an inline SVG's points and labels (drawn on the server)."""
    pts = [p for p in points if p["mean"] is not None]
    if not pts:
        return None
    step = (w - 2 * pad) / max(1, len(pts) - 1)
    xy = []
    for i, p in enumerate(pts):
        x = pad + (i * step if len(pts) > 1 else (w - 2 * pad) / 2)
        y = pad + (h - 2 * pad) * (1 - max(0.0, min(4.0, p["mean"])) / 4.0)
        xy.append({"x": round(x, 1), "y": round(y, 1), "job": p["job"], "mean": p["mean"], "letter": p["letter"]})
    grid = [{"y": round(pad + (h - 2 * pad) * (1 - g / 4.0), 1), "g": g} for g in (1, 2, 3, 4)]
    return {"w": w, "h": h, "points": xy, "line": " ".join("%s,%s" % (p["x"], p["y"]) for p in xy), "grid": grid}


def quality_data(engine, job, lang):
    lc = label_checks
    q = (select(lc.c.id, lc.c.job_id, lc.c.serial_id, lc.c.decoded, lc.c.match, lc.c.valid, lc.c.grade, lc.c.notation,
                lc.c.passed, lc.c.reason, lc.c.image, lc.c.at, serials.c.serial, serials.c.label_no)
         .select_from(lc.outerjoin(serials, serials.c.id == lc.c.serial_id))
         .order_by(lc.c.passed.asc(), lc.c.at.desc(), lc.c.id.desc()).limit(QUALITY_ROWS))
    if job is not None:
        q = q.where(lc.c.job_id == job)
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(q).mappings()]
        summary = _summary_rows(c, job)
        everything = summary if job is None else _summary_rows(c, None)
    for r in rows:
        r["letter"] = grade_letter(r["grade"])
        r["why"] = reason_words(r["reason"], lang)
        r["has_image"] = bool(r["image"])
    summary.sort(key=lambda s: -(s["job"] or 0))
    trends = {}
    for srow in sorted(everything, key=lambda s: (s["first"] or 0, s["job"] or 0)):
        trends.setdefault(srow["printer"], []).append(srow)
    charts = [{"printer": p, "jobs": js, "chart": trend_chart(js)} for p, js in sorted(trends.items())]
    return rows, summary, charts


@router.get("/panel/quality", include_in_schema=False)
def quality_page(request: Request, s=Viewer, job: int | None = None):
    lang = lang_of(request)
    rows, summary, charts = quality_data(engine_of(request), job, lang)
    return page(request, "quality.html", s, checks=rows, summary=summary, charts=charts, job=job,
                more=len(rows) >= QUALITY_ROWS)


def image_png(path, thumb):
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode not in ("1", "L", "RGB", "RGBA"):
            im = im.convert("RGB")
        if thumb:
            im.thumbnail((THUMB_PX * 2, THUMB_PX * 2))
        buf = io.BytesIO()
        im.save(buf, "PNG")
    return buf.getvalue()


@router.get("/panel/quality/image/{check_id}", include_in_schema=False)
async def quality_image(request: Request, check_id: int, s=Viewer, thumb: bool = False):
    """The image of one label check, by the check's id: only a file a label_checks
    row names is ever read; no path comes from the request."""
    with engine_of(request).connect() as c:
        path = c.execute(select(label_checks.c.image).where(label_checks.c.id == check_id)).scalar()
    if not path or not os.path.isfile(path):
        return Response(status_code=404, headers={"cache-control": "no-store"})
    try:
        data = await run_in_threadpool(image_png, path, thumb)
    except (OSError, ValueError):
        return Response(status_code=404, headers={"cache-control": "no-store"})
    return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=300"})
