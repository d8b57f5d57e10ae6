"""An Odoo 19.0 server started on a free local port against a test database."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
# One filestore for every Odoo process of a test session (servers, the data generator): an
# attachment written by one (e.g. a compiled asset bundle) must be readable by the others.
# The test command passes the filestore of the Odoo process that installed the addons.
DATA_DIR = Path(os.environ.get("ECRM_DATA_DIR") or tempfile.mkdtemp(prefix="ecrm-data-"))
ADDONS = ["ecrm_segments", "ecrm_loyalty", "ecrm_marketing", "ecrm_helpdesk"]


def odoo_src():
    return Path(os.environ.get("ECRM_ODOO_SRC") or os.environ.get("ODOO_SRC") or Path.home() / ".local/src/odoo-19.0")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooServer:
    """Starts ``odoo-bin`` for ``db`` on a free port; ``install`` first installs the addons."""

    def __init__(self, db, workers=0, extra_args=()):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.extra_args = list(extra_args)
        self.proc = None
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrm-server-"))
        self.log_path = self.workdir / "odoo.log"
        self.conf = self.workdir / "odoo.conf"
        self.conf.write_text(
            "[options]\n"
            f"addons_path = {ROOT / 'addons'},{odoo_src() / 'addons'}\n"
            f"data_dir = {DATA_DIR}\n"
            f"db_host = {os.environ.get('PGHOST', '127.0.0.1')}\n"
            f"db_port = {os.environ.get('PGPORT', '5432')}\n"
            f"db_user = {os.environ.get('PGUSER') or os.environ.get('USER') or 'root'}\n"
            f"db_password = {os.environ.get('PGPASSWORD', '')}\n"
            "http_interface = 127.0.0.1\n"
            f"http_port = {self.port}\n"
            f"gevent_port = {free_port()}\n"
            f"dbfilter = ^{db}$\n"
            "list_db = False\n"
        )

    def command(self, *args):
        return [sys.executable, str(odoo_src() / "odoo-bin"), "-c", str(self.conf), "-d", self.db, *args]

    def install(self, addons=ADDONS):
        subprocess.run(
            self.command("-i", ",".join(addons), "--stop-after-init", "--log-level", "warn"),
            check=True,
            stdout=open(self.log_path, "a"),
            stderr=subprocess.STDOUT,
        )

    def start(self, timeout=180):
        args = ["--workers", str(self.workers), "--max-cron-threads", "0", "--log-level", "info", *self.extra_args]
        self.proc = subprocess.Popen(self.command(*args), stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Odoo exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                # while the registry loads, /web/health may take longer than one attempt's timeout
                if requests.get(f"{self.url}/web/health", timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Odoo did not answer on {self.url} within {timeout}s; log:\n{self.log_tail()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def errors_in_log(self):
        """ERROR/CRITICAL lines the server logged, and warnings from the eCRM addons."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if " ERROR " in line or " CRITICAL " in line:
                found.append(line)
            elif " WARNING " in line and " odoo.addons.ecrm_" in line:
                found.append(line)
        return found
