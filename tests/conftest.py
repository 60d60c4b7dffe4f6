import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# One reference date for every test, so "expired" and the century rule do
# not depend on the day the suite runs.
TODAY = "2026-11-22"


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def pg_cluster():
    # One real PostgreSQL server for the whole run; each test gets its own
    # database from db_url.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import postgres

    if postgres.server_bin() is None:
        pytest.skip("PostgreSQL server not installed (scripts/setup.sh installs it)")
    cluster = postgres.Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    # Every storage test runs on both databases the gateway supports.
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "t.sqlite")
    return request.getfixturevalue("pg_cluster").database()
