"""The scale proof's small variant (tests/scale/run.py --ci): two servers on one database, kill -9
in the middle of the jobs, load over JSON-RPC. It builds its own database (the four addons and the
generator's demo size, 200 customers) and fails on any difference from the undisturbed run, any
message sent twice, any ledger line twice or missing, any error or overdrawn card after the load."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scale_ci_variant():
    db = f"ecrm_scale_ci_{os.getpid()}"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/scale/run.py"), "--ci", "--base-db", db],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(result.stdout[-20000:])
    print(result.stderr[-5000:], file=sys.stderr)
    assert result.returncode == 0, "\n".join(
        line for line in result.stdout.splitlines() if line.startswith(("FAILURE", "[scale]"))
    )
    assert "PASSED: 0 problem(s)" in result.stdout
