"""Versions of label templates: what each print job used, kept for ever.

printer_templates/ holds the shipped templates (files that come with the
software).  A change made in the panel is never written to those files: it
is a new version in the label_templates table.  Every version a job may use
is a row there, and rows are never changed or deleted:

- current(engine, name) is the version new jobs use: the newest row.  The
  shipped file is stored as a version the first time it is used, and again
  when a software update changes the file and no panel edit is newer (a
  panel edit stays current until an admin goes back to the shipped file);
- a print job records the version it was created with
  (print_jobs.template_version) and for_job() renders its labels from that
  version, whatever later edits or updates do;
- save() adds a version made from an edited template and refuses it when
  someone saved another version in between.

Each version carries the SHA-256 of its content, so a job's record names
exactly what it printed.
"""

import hashlib
import json
import time

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.printing import templates as T
from gateway.schema import label_templates

SOURCES = ("file", "panel")


class VersionConflict(ValueError):
    """Another version was saved since the one an edit started from."""

    def __init__(self, name, base, latest):
        super().__init__("template %s: version %s was saved since version %s was opened" % (name, latest, base))
        self.base, self.latest = base, latest


def content_hash(meta, zpl):
    """SHA-256 of a template's content (metadata as canonical JSON, then the ZPL)."""
    try:
        text = json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        # TOML dates and times have no JSON form; no template needs one.
        raise T.TemplateError("template metadata may hold only text, numbers, true/false, lists and tables") from None
    return hashlib.sha256((text + "\0" + zpl).encode("utf-8")).hexdigest()


def _template(row):
    # A stored version as a Template, with its version facts as attributes.
    tpl = T.Template(row["name"], row["meta"], row["zpl"])
    tpl.version = row["version"]
    tpl.source = row["source"]
    tpl.sha256 = row["sha256"]
    tpl.file_sha256 = row["file_sha256"]
    tpl.note = row["note"]
    tpl.created_by = row["created_by"]
    tpl.created_at = row["created_at"]
    return tpl


def _latest(conn, name):
    return conn.execute(select(label_templates).where(label_templates.c.name == name)
                        .order_by(label_templates.c.version.desc()).limit(1)).mappings().first()


def _insert(engine, name, meta, zpl, source, file_sha, actor, note, base=None):
    """A new version after the newest (or after `base`, refused when it is
    not the newest any more) -> the row.  None when another process added the
    same next version at the same moment (the caller reads again)."""
    row = {"name": name, "source": source, "meta": meta, "zpl": zpl, "sha256": content_hash(meta, zpl),
           "file_sha256": file_sha, "note": note, "created_by": actor, "created_at": time.time()}
    try:
        with engine.begin() as c:
            latest = _latest(c, name)
            have = latest["version"] if latest else 0
            if base is not None and base != have:
                raise VersionConflict(name, base, have)
            row["version"] = have + 1
            row["id"] = c.execute(insert(label_templates).values(**row)).inserted_primary_key[0]
    except IntegrityError:
        if base is not None:
            raise VersionConflict(name, base, None) from None
        return None
    return row


def current(engine, name):
    """The version new jobs use, as a Template with .version, .source,
    .sha256, .file_sha256 and .file_changed (the shipped file differs from
    the one this version was made beside).  TemplateError when there is no
    such template (or its shipped file is invalid)."""
    meta, zpl = _shipped_source(name)
    file_sha = content_hash(meta, zpl)
    for _attempt in range(3):
        with engine.connect() as c:
            latest = _latest(c, name)
        if latest is not None and (latest["source"] == "panel" or latest["file_sha256"] == file_sha):
            break
        latest = _insert(engine, name, meta, zpl, "file", file_sha, None,
                         "shipped file" if latest is None else "shipped file changed (software update)")
        if latest is not None:
            break
    else:
        raise T.TemplateError("could not record a version of the shipped file", name)
    tpl = _template(latest)
    tpl.file_changed = latest["file_sha256"] != file_sha
    return tpl


def load_version(engine, name, version):
    """One stored version as a Template, or None."""
    with engine.connect() as c:
        row = c.execute(select(label_templates).where(label_templates.c.name == name,
                                                      label_templates.c.version == version)).mappings().first()
    return _template(row) if row is not None else None


def for_job(engine, job):
    """The template a job's labels are rendered from: the version it recorded
    (a job from before versions were kept: the shipped file)."""
    version = job.get("template_version")
    if version is None:
        return T.load(job["template"])
    tpl = load_version(engine, job["template"], version)
    if tpl is None:
        raise T.TemplateError("version %d of the template is not stored" % version, job["template"])
    return tpl


def history(engine, name):
    """Every stored version of a template, newest first (without the content)."""
    cols = [label_templates.c[k] for k in ("version", "source", "sha256", "file_sha256", "note", "created_by",
                                           "created_at")]
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(*cols).where(label_templates.c.name == name)
                                           .order_by(label_templates.c.version.desc())).mappings()]


def counts(engine):
    """{name: number of stored versions}."""
    with engine.connect() as c:
        return {n: k for n, k in c.execute(select(label_templates.c.name, func.count()).group_by(label_templates.c.name))}


def save(engine, name, meta, zpl, actor, note, base_version):
    """A new version from an edited template -> its Template.  TemplateError
    when the content is not a valid template, VersionConflict when another
    version was saved after base_version."""
    T.Template(name, meta, zpl)  # the same checks load() makes
    file_sha = content_hash(*_shipped_source(name))
    row = _insert(engine, name, meta, zpl, "panel", file_sha, actor, note, base=base_version)
    tpl = _template(row)
    tpl.file_changed = False
    return tpl


def restore_shipped(engine, name, actor, base_version):
    """Make the shipped file current again (as a new version) -> its Template."""
    meta, zpl = _shipped_source(name)
    row = _insert(engine, name, meta, zpl, "file", content_hash(meta, zpl), actor, "back to the shipped file",
                  base=base_version)
    tpl = _template(row)
    tpl.file_changed = False
    return tpl


def _shipped_source(name):
    shipped = T.load(name)
    return shipped.meta, shipped.zpl
