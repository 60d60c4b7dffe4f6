"""Bring a database to the schema of this version (Alembic), on SQLite and
PostgreSQL alike.  Store() calls upgrade() when it opens a database."""

import os

from alembic import command
from alembic.config import Config

HERE = os.path.join(os.path.dirname(__file__), "migrations")


def config(connection=None):
    cfg = Config()
    cfg.set_main_option("script_location", HERE)
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine, revision="head"):
    with engine.begin() as c:
        command.upgrade(config(c), revision)


def revision(engine, message):
    # For developers: a new migration from the difference between schema.py
    # and a database at head.
    with engine.begin() as c:
        command.revision(config(c), message=message, autogenerate=True)
