"""Finding PostgreSQL, and the few database chores the commands need.

Order of preference, said on screen:
1. the server the standard PG* variables point at (PGHOST, PGPORT, PGUSER, PGPASSWORD);
2. the server on 127.0.0.1:5432;
3. the machine's own cluster, started with pg_ctlcluster;
4. a private cluster under ~/.cache/ecrm/pgdata on port 54329 (initdb + pg_ctl).
Odoo refuses the ``postgres`` role, so the role is PGUSER or the login name, never postgres.
"""

import getpass
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

PRIVATE_PORT = 54329


class Server:
    def __init__(self, host, port, user, password, how):
        self.host, self.port, self.user, self.password, self.how = host, int(port), user, password, how

    def connect(self, dbname="postgres"):
        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname, connect_timeout=5
        )

    def alive(self):
        try:
            self.connect().close()
            return True
        except psycopg2.OperationalError:
            return False

    def env(self):
        """The PG* variables that make child processes use this server."""
        env = {"PGHOST": self.host or "", "PGPORT": str(self.port), "PGUSER": self.user}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def database_exists(self, db):
        with self.connect() as conn, conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            return bool(cr.fetchone())

    def query(self, db, sql, params=(), missing_ok=False):
        try:
            conn = self.connect(db)
        except psycopg2.OperationalError:
            if missing_ok:
                return None
            raise
        try:
            with conn.cursor() as cr:
                cr.execute(sql, params)
                return cr.fetchall()
        except psycopg2.errors.UndefinedTable:
            if missing_ok:
                return None
            raise
        finally:
            conn.close()

    def copy_database(self, template, db, filestore_root=None):
        """``db`` as a copy of ``template`` (nobody may be connected to it) and of its filestore."""
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')  # names from our own commands
        conn.close()
        if filestore_root:
            source = Path(filestore_root) / "filestore" / template
            if source.exists():
                shutil.copytree(source, Path(filestore_root) / "filestore" / db, symlinks=True)

    def drop_database(self, db, filestore_root=None):
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cr.execute(f'DROP DATABASE IF EXISTS "{db}"')  # db names come from our own commands
        conn.close()
        if filestore_root:
            shutil.rmtree(Path(filestore_root) / "filestore" / db, ignore_errors=True)


def _role():
    user = os.environ.get("PGUSER") or getpass.getuser()
    if user == "postgres":
        sys.exit(
            "[ecrm] Odoo refuses to run as the PostgreSQL role 'postgres'. Set PGUSER to another role "
            "(create it with: sudo -u postgres createuser --superuser $USER)."
        )
    return user


def find_server(say):
    user = _role()
    password = os.environ.get("PGPASSWORD")
    if any(os.environ.get(var) for var in ("PGHOST", "PGPORT")):
        server = Server(os.environ.get("PGHOST"), os.environ.get("PGPORT", 5432), user, password, "PG* variables")
        if not server.alive():
            sys.exit(
                f"[ecrm] PostgreSQL at PGHOST={server.host} PGPORT={server.port} (role {user}) does not answer; "
                "fix the PG* variables or unset them to use a local server."
            )
        say(f"PostgreSQL: {server.host or 'local socket'}:{server.port} as {user} (from the PG* variables)")
        return server

    server = Server("127.0.0.1", 5432, user, password, "127.0.0.1:5432")
    if server.alive():
        say(f"PostgreSQL: 127.0.0.1:5432 as {user}")
        return server

    clusters = sorted(glob.glob("/etc/postgresql/*/main"))
    if clusters and shutil.which("pg_ctlcluster"):
        version = Path(clusters[-1]).parent.name
        say(f"PostgreSQL on 127.0.0.1:5432 does not answer; starting the machine's cluster {version}/main")
        subprocess.call(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        for _ in range(30):
            if server.alive():
                say(f"PostgreSQL: 127.0.0.1:5432 as {user} (cluster {version}/main started)")
                return server
            time.sleep(1)

    return _private_cluster(user, say)


def _private_cluster(user, say):
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    initdb = shutil.which("initdb") or (bindirs and os.path.join(bindirs[-1], "initdb"))
    if not initdb or not os.path.exists(initdb):
        sys.exit(
            "[ecrm] No PostgreSQL server found: none at the PG* variables, none on 127.0.0.1:5432, and no "
            "PostgreSQL binaries to start one. Install PostgreSQL 13+ (e.g. apt-get install postgresql) or point "
            "PGHOST/PGPORT/PGUSER at a server."
        )
    if os.geteuid() == 0:
        sys.exit(
            "[ecrm] No PostgreSQL server answers and a private cluster cannot be created as root. Start the "
            "machine's PostgreSQL or point PGHOST/PGPORT/PGUSER at a server."
        )
    bindir = os.path.dirname(initdb)
    data = Path.home() / ".cache/ecrm/pgdata"
    if not (data / "PG_VERSION").exists():
        say(f"Creating a private PostgreSQL cluster in {data}")
        subprocess.check_call([initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8"])
    server = Server("127.0.0.1", PRIVATE_PORT, user, None, "private cluster")
    if not server.alive():
        subprocess.check_call(
            [
                os.path.join(bindir, "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(data / "server.log"),
                "-w",
                "-o",
                f"-p {PRIVATE_PORT} -k /tmp -c listen_addresses=127.0.0.1",
                "start",
            ]
        )
    say(f"PostgreSQL: private cluster {data} on 127.0.0.1:{PRIVATE_PORT} as {user}")
    return server


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_browser(say):
    """Browser tours need Chromium and websocket-client; without them Odoo only warns."""
    try:
        import websocket  # noqa: F401
    except ImportError:
        sys.exit("[ecrm] The Python package websocket-client is missing: browser tours would be skipped.")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("[ecrm] No Chromium found: browser tours need it (Debian: apt-get install chromium).")
