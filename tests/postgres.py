"""A throwaway PostgreSQL cluster for the storage tests (Debian's server,
installed by scripts/setup.sh): initdb in a temp dir, pg_ctl start on a free
port on 127.0.0.1, trust auth; as root it runs as the postgres user."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from gateway.broker import free_port


def server_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None




class Cluster:
    def __init__(self):
        self.bin = server_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server not installed (scripts/setup.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="udi-pg-")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:  # the server refuses to run as root
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.dir, "data")
        self._run([os.path.join(self.bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                   "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.dir), "start"])
        self.data = data
        self.url = "postgresql+psycopg://postgres@127.0.0.1:%d/postgres" % self.port

    def _run(self, cmd):
        subprocess.run(self.as_user + cmd, check=True, capture_output=True, timeout=120)

    def database(self):
        # A fresh, empty database on this cluster -> its URL (tests stay
        # independent without a cluster each).
        import itertools

        import psycopg

        Cluster._n = getattr(Cluster, "_n", itertools.count(1))
        name = "t%d" % next(Cluster._n)
        with psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % self.port, autocommit=True) as c:
            c.execute("CREATE DATABASE %s" % name)
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self):
        try:
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
