"""What every benchmark needs: where Odoo is, how to reach PostgreSQL, a database to measure in."""

import getpass
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ODOO_SRC = Path(os.environ.get("ECRM_ODOO_SRC") or os.environ.get("ODOO_SRC") or Path.home() / ".local/src/odoo-19.0")


def odoo_args(db):
    """Odoo command-line options for ``db`` on the server the PG* variables name (default 127.0.0.1:5432)."""
    args = [
        f"--addons-path={ROOT / 'addons'},{ODOO_SRC / 'addons'}",
        f"--db_host={os.environ.get('PGHOST') or '127.0.0.1'}",
        f"--db_port={os.environ.get('PGPORT') or '5432'}",
        f"--db_user={os.environ.get('PGUSER') or getpass.getuser()}",
        "-d",
        db,
        "--log-level=warn",
    ]
    if os.environ.get("PGPASSWORD"):
        args.append(f"--db_password={os.environ['PGPASSWORD']}")
    return args


def install(db, addon):
    """Create ``db`` with ``addon`` (and its dependencies) installed."""
    print(f"[bench] installing {addon} into {db}", flush=True)
    subprocess.run(
        [sys.executable, str(ODOO_SRC / "odoo-bin"), *odoo_args(db), "-i", addon, "--stop-after-init", "--no-http"],
        check=True,
    )


def open_registry(db, setup_logging=True):
    """Import Odoo from ODOO_SRC, configure it for ``db`` and return that database's registry."""
    sys.path.insert(0, str(ODOO_SRC))
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(odoo_args(db), setup_logging=setup_logging)
    return Registry(db)
