"""Bring a database to the schema of this version (Alembic), on SQLite and
PostgreSQL alike.  Store() calls upgrade() when it opens a database."""

import os

from alembic import command
from alembic.config import Config
from sqlalchemy import text

HERE = os.path.join(os.path.dirname(__file__), "migrations")


def config(connection=None):
    cfg = Config()
    cfg.set_main_option("script_location", HERE)
    cfg.attributes["connection"] = connection
    return cfg


MIGRATION_LOCK = 0x7564_6901  # pg_advisory lock key: one migration at a time on a database


def upgrade(engine, revision="head"):
    with engine.begin() as c:
        if c.dialect.name == "postgresql":
            # Several gateways of a site start together against one database:
            # the first migrates, the others wait and find it at head (DDL is
            # transactional on PostgreSQL; the lock ends with this transaction).
            c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        command.upgrade(config(c), revision)


def revision(engine, message):
    # For developers: a new migration from the difference between schema.py
    # and a database at head.
    with engine.begin() as c:
        command.revision(config(c), message=message, autogenerate=True)
