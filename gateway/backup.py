"""Backups of the gateway's database and restoring one (`udi-edge db backup`,
`udi-edge db restore`; docs/deployment.md).

- SQLite: SQLite's online backup (the gateway may keep running: the copy is
  one consistent state), checked with PRAGMA integrity_check.
- PostgreSQL: pg_dump in its custom format (one consistent snapshot while
  the gateways run), checked by listing it with pg_restore; restored with
  pg_restore into an empty database.

A restore never writes over data: the target must be empty.  After it the
database is brought to this version's schema (a backup of an older version
is migrated), and serial pools go on from where the backup left them: a
serial given out before the backup is never given again.  Serials given out
*after* the backup was taken are not in it: labels printed in that gap are
out there while the ledger does not know them.  advance_serials moves every
sequential pool that far past the backup's counter (audited), so that those
numbers are not given again (docs/deployment.md, "Restore")."""

import glob
import os
import shutil
import sqlite3
import subprocess

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def _sqlite_path(url):
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("a SQLite database in memory cannot be backed up")
    return path


def pg_tool(name):
    # The client tool, from PATH or the newest server installed (Debian keeps them per version).
    found = shutil.which(name) or (sorted(glob.glob("/usr/lib/postgresql/*/bin/%s" % name)) or [None])[-1]
    if found is None:
        raise BackupError("%s is not installed (Debian: apt install postgresql-client)" % name)
    return found


def _pg_args(url):
    # libpq connection options (the password in the environment, not on the command line).
    u = make_url(url)
    args, env = [], dict(os.environ)
    for flag, value in (("-h", u.host), ("-p", u.port), ("-U", u.username)):
        if value:
            args += [flag, str(value)]
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, u.database, env


def _run(cmd, env=None, timeout=None):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except OSError as e:
        raise BackupError("%s could not run: %s" % (cmd[0], e))
    if r.returncode != 0:
        raise BackupError("%s failed: %s" % (os.path.basename(cmd[0]), (r.stderr or r.stdout).strip()[-2000:]))
    return r.stdout


def backup(url, dest):
    """Write a backup of the database at `url` to the file `dest` -> {"kind", "path", "bytes"}."""
    dest = os.path.abspath(dest)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    part = dest + ".part"  # a backup cut short never looks like one
    kind = make_url(url).get_backend_name()
    if kind == "sqlite":
        src = sqlite3.connect(_sqlite_path(url))
        try:
            out = sqlite3.connect(part)
            with out:
                src.backup(out)  # online: pages copied again if a writer changes them meanwhile
            ok = out.execute("PRAGMA integrity_check").fetchone()[0]
            out.close()
        finally:
            src.close()
        if ok != "ok":
            os.remove(part)
            raise BackupError("the copy failed its integrity check: %s" % ok)
    elif kind == "postgresql":
        args, db, env = _pg_args(url)
        _run([pg_tool("pg_dump"), *args, "-Fc", "--no-owner", "-f", part, db], env)
        _run([pg_tool("pg_restore"), "--list", part])  # readable from end to end
    else:
        raise BackupError("backups are for sqlite and postgresql databases, not %s" % kind)
    os.replace(part, dest)
    return {"kind": kind, "path": dest, "bytes": os.path.getsize(dest)}


def restore(url, src, advance_serials=0, actor="restore"):
    """Restore the backup file `src` into the (empty) database at `url`, then
    bring it to this version's schema and move the sequential serial pools
    `advance_serials` on -> {"kind", "tables", "pools_advanced"}."""
    from sqlalchemy import create_engine, inspect, select, update

    from gateway.printing.ledger import audit
    from gateway.schema import serial_pools

    from gateway import migrate

    if not os.path.isfile(src):
        raise BackupError("no backup file at %s" % src)
    if not isinstance(advance_serials, int) or advance_serials < 0:
        raise BackupError("advance_serials must be a whole number ≥ 0, got %r" % (advance_serials,))
    kind = make_url(url).get_backend_name()
    engine = create_engine(url)
    try:
        existing = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if existing:
        raise BackupError("the database at %s already has %d tables: restore only into an empty one (a new database, "
                          "or move the old one aside first)" % (make_url(url).render_as_string(hide_password=True), len(existing)))
    if kind == "sqlite":
        back = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(src), uri=True)
        try:
            ok = back.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise BackupError("the backup failed its integrity check: %s" % ok)
            target = sqlite3.connect(_sqlite_path(url))
            with target:
                back.backup(target)
            target.close()
        except sqlite3.DatabaseError as e:
            raise BackupError("%s is not a SQLite backup: %s" % (src, e))
        finally:
            back.close()
    elif kind == "postgresql":
        args, db, env = _pg_args(url)
        _run([pg_tool("pg_restore"), *args, "--no-owner", "--no-privileges", "--exit-on-error", "-d", db, src], env)
    else:
        raise BackupError("restores are for sqlite and postgresql databases, not %s" % kind)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)  # a backup of an older version gets this version's schema
        tables = len(inspect(engine).get_table_names())
        advanced = 0
        if advance_serials:
            with engine.begin() as c:
                pools = c.execute(select(serial_pools.c.id, serial_pools.c.di, serial_pools.c.lot)
                                  .where(serial_pools.c.scheme == "sequential")).all()
                c.execute(update(serial_pools).where(serial_pools.c.scheme == "sequential")
                          .values(next_value=serial_pools.c.next_value + advance_serials))
                for _pid, di, lot in pools:
                    audit(c, None, None, "restore_advance", actor, "pool %s%s moved on by %d after a restore from %s"
                          % (di, " lot " + lot if lot else "", advance_serials, os.path.basename(src)))
                advanced = len(pools)
    finally:
        engine.dispose()
    return {"kind": kind, "tables": tables, "pools_advanced": advanced}
