"""Alembic environment: migrations run from Store() (or `udi-edge db upgrade`)
with the connection handed in through config.attributes."""

from alembic import context

from gateway.schema import metadata


def run():
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


run()
