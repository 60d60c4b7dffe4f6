"""The site membership thread (gateway.site.Member) through a database
outage: it keeps running, logs the outage once (not every retry) and its
end once, and its beat is back in `gateways` afterwards."""

import logging

from sqlalchemy import create_engine, select
from test_devices import wait_for

from gateway import site
from gateway.schema import gateways, metadata


class Outage:
    """print_jobs stand-in whose pick_up fails while `down` is set, as
    PrintJobs.pick_up does while its database is away."""

    def __init__(self):
        self.down = False
        self.calls = 0

    def pick_up(self):
        self.calls += 1
        if self.down:
            raise ConnectionError("database is away")


def test_an_outage_is_logged_once_with_its_end_and_the_beat_comes_back(tmp_path, caplog, monkeypatch):
    engine = create_engine("sqlite:///%s" % (tmp_path / "site.sqlite"))
    metadata.create_all(engine)
    jobs = Outage()
    monkeypatch.setattr(site.Member, "RETRY_S", 0.02)
    member = site.Member(engine, "gw-a", print_jobs=jobs)
    caplog.set_level(logging.INFO, logger="udi_edge.site")
    member.start()
    try:
        assert wait_for(lambda: jobs.calls >= 3)
        jobs.down = True
        start = jobs.calls
        assert wait_for(lambda: jobs.calls >= start + 20)  # twenty failed retries
        failed = [r for r in caplog.records if "failed" in r.getMessage()]
        assert len(failed) == 1 and failed[0].levelno == logging.ERROR and failed[0].exc_info
        assert "database is away" in caplog.text
        jobs.down = False
        assert wait_for(lambda: "works again after" in caplog.text)
        assert member.is_alive()
        back = [r for r in caplog.records if "works again" in r.getMessage()]
        assert len(back) == 1 and back[0].levelno == logging.WARNING
        with engine.connect() as c:
            row = c.execute(select(gateways).where(gateways.c.id == "gw-a")).mappings().one()
        assert row["host"] and row["started_at"] <= row["last_seen"]
        # a second outage is logged again, once
        jobs.down = True
        start = jobs.calls
        assert wait_for(lambda: jobs.calls >= start + 5)
        assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 2
    finally:
        member.stop()
    assert not member.is_alive()
