"""Fixtures for the cross-addon tests: a running Odoo server and RPC clients.

The test command passes ``ECRM_TEST_DB`` (a throwaway database where the four addons are
installed already). Run alone, ``pytest tests`` creates such a database and drops it after.
"""

import os
import sys

import psycopg2
import pytest
from harness.rpc import JsonRpc, XmlRpc
from harness.server import OdooServer, odoo_src

# tests that read Odoo's own code (e.g. its configuration options) import it from the source tree
sys.path.insert(0, str(odoo_src()))

ADMIN = ("admin", "admin")


def _pg_connect():
    return psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER") or os.environ.get("USER") or "root",
        password=os.environ.get("PGPASSWORD"),
        dbname="postgres",
    )


@pytest.fixture(scope="session")
def odoo():
    """An Odoo server on a free port, with the four eCRM addons installed in its database."""
    db = os.environ.get("ECRM_TEST_DB")
    own_db = not db
    if own_db:
        db = f"ecrm_pytest_{os.getpid()}"
    server = OdooServer(db)
    if own_db:
        server.install()
    server.start()
    yield server
    server.stop()
    if own_db:
        conn = _pg_connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.close()


@pytest.fixture(scope="session")
def rpc(odoo):
    """A JSON-RPC client logged in as the administrator."""
    client = JsonRpc(odoo.url, odoo.db, *ADMIN)
    # onboarding tours of a fresh admin would cover the screens the tours click on
    client.execute("res.users", "write", [client.uid], {"tour_enabled": False})
    return client


@pytest.fixture(scope="session")
def xmlrpc(odoo):
    return XmlRpc(odoo.url, odoo.db, *ADMIN)
