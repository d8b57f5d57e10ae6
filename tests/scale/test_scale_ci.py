"""The scale proof's small variant (tests/scale/run.py --ci), part of the test command: two servers
on one database, kill -9 of every job inside a batch and at a batch boundary, load over JSON-RPC.
It fails on any difference from the undisturbed run, any crash point not reached, any message
sent twice, any ledger line twice or missing, any error or overdrawn card after the load.

Its base database is the generator's demo size (200 customers) on a copy of the test command's
database taken before the other tests ran (``ECRM_SCALE_TEMPLATE``: the four addons installed);
run alone, it installs the addons into a database of its own first."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# a guard against a hung run only (run.py has its own time limits); the run takes a few minutes
TIMEOUT = 3600


def test_scale_ci_variant():
    db = f"ecrm_scale_ci_{os.getpid()}"
    template = os.environ.get("ECRM_SCALE_TEMPLATE")
    cmd = [sys.executable, str(ROOT / "tests/scale/run.py"), "--ci", "--base-db", db]
    if template:
        cmd += ["--from-db", template]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    print(result.stdout[-20000:])
    print(result.stderr[-5000:], file=sys.stderr)
    assert result.returncode == 0, "\n".join(
        line for line in result.stdout.splitlines() if line.startswith(("FAILURE", "[scale]"))
    )
    assert "PASSED: 0 problem(s)" in result.stdout
