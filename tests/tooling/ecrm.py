"""The README's commands: run, test, data, lint, bench.

Run through ``make`` (or ``bash tests/tooling/ecrm.sh``), which prepares the virtualenv
and the Odoo source first. Every command finds PostgreSQL the same way (see
``pg.find_server``) and writes its own Odoo configuration outside the repository.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg
import polib

ROOT = Path(__file__).resolve().parents[2]
ADDONS = ["ecrm_segments", "ecrm_loyalty", "ecrm_marketing", "ecrm_helpdesk"]
ODOO_SRC = Path(os.environ.get("ODOO_SRC", Path.home() / ".local/src/odoo-19.0"))
STATE_DIR = Path(os.environ.get("ECRM_STATE", Path.home() / ".cache/ecrm"))
VENV_PYTHON = Path(sys.executable)

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>[A-Z]+) (?P<db>\S+) (?P<logger>[\w.]+): (?P<msg>.*)$"
)
RESULT_LINE = re.compile(
    r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<run>\d+) tests when loading database"
)


def say(message):
    print(f"\033[1m[ecrm]\033[0m {message}", file=sys.stderr, flush=True)


def odoo_config(server, db=None, http_port=8069, extra=None):
    """Write an Odoo configuration for this machine and return its path."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    options = {
        "addons_path": f"{ROOT / 'addons'},{ODOO_SRC / 'addons'}",
        "data_dir": str(STATE_DIR / "filestore"),
        "db_host": server.host or "",
        "db_port": str(server.port),
        "db_user": server.user,
        "db_password": server.password or "",
        "http_interface": "127.0.0.1",
        "http_port": str(http_port),
        "gevent_port": str(http_port + 3),
        "proxy_mode": "False",
        "list_db": "True",
        "without_demo": "False",
    }
    if db:
        options["db_name"] = db
        options["dbfilter"] = f"^{re.escape(db)}$"
    options.update(extra or {})
    fd, path = tempfile.mkstemp(prefix="ecrm-odoo-", suffix=".conf", dir=STATE_DIR)
    with os.fdopen(fd, "w") as conf:
        conf.write("[options]\n")
        for key, value in options.items():
            conf.write(f"{key} = {value}\n")
    return path


def odoo_cmd(conf, *args):
    return [str(VENV_PYTHON), str(ODOO_SRC / "odoo-bin"), "-c", conf, *args]


def installed_addons(server, db):
    """The eCRM addons installed in ``db`` (empty if the database does not exist)."""
    if not server.database_exists(db):
        return set()
    rows = server.query(
        db,
        "SELECT name FROM ir_module_module WHERE state = 'installed' AND name = ANY(%s)",
        (ADDONS,),
        missing_ok=True,
    )
    return {row[0] for row in rows or []}


# ---------------------------------------------------------------------------- run


def cmd_run(args):
    server = pg.find_server(say)
    db = args.db
    conf = odoo_config(server, db=db, http_port=args.port, extra={"list_db": "False"})
    missing = [name for name in ADDONS if name not in installed_addons(server, db)]
    if missing:
        say(f"Installing {', '.join(missing)} with demo data into database {db!r} (first run only)")
        rc = subprocess.call(odoo_cmd(conf, "-d", db, "-i", ",".join(missing), "--with-demo", "--stop-after-init"))
        if rc:
            say("Installing the addons failed; see the log above.")
            return rc
    if not args.no_demo_data and not server.query(
        db, "SELECT 1 FROM ir_config_parameter WHERE key = 'ecrm.demo_data_seed'", missing_ok=True
    ):
        say("Generating the demo customers and orders (first run only)")
        rc = subprocess.call(
            [str(VENV_PYTHON), str(ROOT / "tests/datagen/generate.py"), "--config", conf, "-d", db, "--size", "demo"]
        )
        if rc:
            say("Generating the demo data failed; see the log above.")
            return rc
    url = f"http://127.0.0.1:{args.port}"
    say(f"Odoo is starting on {url}/odoo  (database {db!r}, login: admin / password: admin)")
    say("eCRM is in the app menu; stop the server with Ctrl+C.")
    os.execv(str(VENV_PYTHON), odoo_cmd(conf, "-d", db, "--workers", "0"))
    return 0  # not reached


# ---------------------------------------------------------------------------- test


class OdooLogReport:
    """What an Odoo test run's log says: the test counts and anything that must fail it."""

    def __init__(self):
        self.runs = self.failed = self.errors = self.skipped = 0
        self.problems = []  # things that fail the run besides the failed tests themselves
        self.failure_lines = []
        self.result_seen = False

    def feed(self, line):
        result = RESULT_LINE.search(line)
        if result:
            self.result_seen = True
            self.runs += int(result["run"])
            self.failed += int(result["failed"])
            self.errors += int(result["errors"])
        match = LOG_LINE.match(line)
        if not match:
            return
        level, logger, msg = match["level"], match["logger"], match["msg"]
        if ".tests." in logger and level == "INFO" and msg.startswith("skipped "):
            self.skipped += 1
            self.problems.append(f"skipped test (a skipped test is not a passing one): {msg}")
        elif level in ("ERROR", "CRITICAL"):
            counted = (logger == "odoo.tests.result" and RESULT_LINE.search(msg)) or (
                ".tests." in logger and msg.startswith(("FAIL:", "ERROR:"))
            )
            if counted:
                self.failure_lines.append(f"{logger}: {msg}")
            else:
                self.problems.append(f"{level} {logger}: {msg}")
        elif level == "WARNING" and logger.startswith(tuple(f"odoo.addons.{name}" for name in ADDONS)):
            self.problems.append(f"WARNING {logger}: {msg}")


def run_odoo_tests(server, db, addons, report, log_path, test_tags=None):
    port = pg.free_port()
    conf = odoo_config(server, db=db, http_port=port)
    tags = test_tags or ",".join(f"/{name}" for name in addons)
    cmd = odoo_cmd(
        conf,
        "-d",
        db,
        "-i",
        ",".join(addons),
        "--test-enable",
        "--test-tags",
        tags,
        "--stop-after-init",
        "--workers",
        "0",
        "--max-cron-threads",
        "0",
        "--log-level",
        "info",
    )
    say(f"Installing {', '.join(addons)} into {db!r} and running their Odoo tests (log: {log_path})")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:
            log.write(line)
            report.feed(line.rstrip("\n"))
            if (
                " ERROR " in line
                or " CRITICAL " in line
                or " FAIL: " in line
                or line.startswith(("FAIL", "ERROR", "Traceback"))
            ):
                sys.stdout.write(line)
            elif "odoo.addons.ecrm_" in line and " INFO " in line and "Ran " not in line:
                # progress of our own tests
                sys.stdout.write(line)
        rc = proc.wait()
    os.unlink(conf)
    if rc and not (report.failed or report.errors):
        report.problems.append(f"Odoo exited with status {rc}")
    if not report.result_seen:
        report.problems.append("Odoo printed no test result line")
    missing = [name for name in addons if name not in installed_addons(server, db)]
    if missing:
        report.problems.append(f"addons not installed: {', '.join(missing)}")
    return conf


def run_pytest(server, db, pytest_args, scale_template=None):
    """Run the pytest tests under tests/ against ``db``; return (passed, failed)."""
    junit = Path(tempfile.mkstemp(prefix="ecrm-pytest-", suffix=".xml", dir=STATE_DIR)[1])
    env = dict(
        os.environ,
        ECRM_TEST_DB=db,
        ECRM_SCALE_TEMPLATE=scale_template or "",
        ECRM_ODOO_SRC=str(ODOO_SRC),
        ECRM_DATA_DIR=str(STATE_DIR / "filestore"),
        **server.env(),
    )
    # a test file or folder among the arguments (e.g. tests/scale/test_scale_ci.py) runs instead of all of tests/
    chosen = [a for a in pytest_args if not a.startswith("-") and (ROOT / a.split("::")[0]).exists()]
    cmd = [
        str(VENV_PYTHON),
        "-m",
        "pytest",
        *([] if chosen else [str(ROOT / "tests")]),
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-q",
        *pytest_args,
    ]
    say("Running the pytest tests under tests/ (end-to-end over RPC, browser tours)")
    rc = subprocess.call(cmd, env=env, cwd=ROOT)
    passed = failed = 0
    try:
        import xml.etree.ElementTree as ET

        for suite in ET.parse(junit).getroot().iter("testsuite"):
            total = int(suite.get("tests", 0))
            bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0)) + int(suite.get("skipped", 0))
            passed += total - bad
            failed += bad
    except (OSError, ET.ParseError):
        failed += 1
    finally:
        junit.unlink(missing_ok=True)
    if rc not in (0, 1) and failed == 0:
        failed = 1  # pytest itself failed (usage error, collection error, no tests)
    if passed == 0 and failed == 0:
        failed = 1  # no test ran: that is not a pass
    return passed, failed


def cmd_test(args):
    started = time.time()
    server = pg.find_server(say)
    pg.check_browser(say)
    addons = args.addons.split(",") if args.addons else ADDONS
    unknown = sorted(set(addons) - set(ADDONS))
    if unknown:
        say(f"Unknown addon(s): {', '.join(unknown)}")
        return 2
    db = args.db or f"ecrm_test_{os.getpid()}_{int(started)}"
    if server.database_exists(db):
        say(f"Database {db!r} exists already; the test command needs a new one.")
        return 2
    scale_template = f"{db}_scale"
    report = OdooLogReport()
    log_path = STATE_DIR / f"test-{db}.log"
    passed = failed = 0
    try:
        if not args.pytest_only:
            run_odoo_tests(server, db, addons, report, log_path, args.test_tags)
            for problem in report.failure_lines + report.problems:
                say(f"FAILURE: {problem}")
            bad_tests = report.failed + report.errors
            passed += max(report.runs - bad_tests - report.skipped, 0)
            failed += bad_tests + len(report.problems)
            say(
                f"Odoo tests: {report.runs} run, {report.failed} failed, {report.errors} errors, "
                f"{report.skipped} skipped, {len(report.problems) - report.skipped} other problem(s) in the log"
            )
        else:
            conf = odoo_config(server, db=db)
            subprocess.check_call(
                odoo_cmd(conf, "-d", db, "-i", ",".join(addons), "--stop-after-init", "--log-level", "warn")
            )
            os.unlink(conf)
        if not args.odoo_only:
            # the scale test (tests/scale) builds its databases on a copy of this one as it is now,
            # the addons installed and nothing else: taken before the other tests write to it
            server.copy_database(db, scale_template, STATE_DIR / "filestore")
            p, f = run_pytest(server, db, args.pytest_args, scale_template)
            passed += p
            failed += f
    finally:
        server.drop_database(scale_template, STATE_DIR / "filestore")
        if not args.keep_db:
            server.drop_database(db, STATE_DIR / "filestore")
        else:
            say(f"Kept database {db!r}")
    if not failed and log_path.exists():
        log_path.unlink()  # keep the Odoo log only when something failed
    say(f"Test command took {time.time() - started:.0f} s")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------------------- data, lint, bench


def cmd_data(args):
    server = pg.find_server(say)
    conf = odoo_config(server, db=args.db)
    try:
        cmd = [
            str(VENV_PYTHON),
            str(ROOT / "tests/datagen/generate.py"),
            "--config",
            conf,
            "-d",
            args.db,
            "--size",
            args.size,
            "--seed",
            str(args.seed),
        ]
        if args.create:
            cmd.append("--create")
        if args.append:
            cmd.append("--append")
        return subprocess.call(cmd)
    finally:
        os.unlink(conf)


def cmd_i18n(args):
    """Export each addon's .pot and refresh its zh_CN.po, keeping the translations it has."""
    server = pg.find_server(say)
    addons = args.addons.split(",") if args.addons else ADDONS
    db = f"ecrm_i18n_{os.getpid()}"
    conf = odoo_config(server, db=db)
    try:
        subprocess.check_call(
            odoo_cmd(
                conf,
                "-d",
                db,
                "-i",
                ",".join(addons),
                "--stop-after-init",
                "--log-level",
                "warn",
                "--load-language",
                "zh_CN",
            )
        )
        for addon in addons:
            i18n = ROOT / "addons" / addon / "i18n"
            i18n.mkdir(exist_ok=True)
            base = [str(VENV_PYTHON), str(ODOO_SRC / "odoo-bin"), "i18n", "export", "-c", conf, "-d", db]
            subprocess.check_call([*base, "-l", "pot", "-o", str(i18n / f"{addon}.pot"), addon])
            po_path = i18n / "zh_CN.po"
            previous = polib.pofile(str(po_path)) if po_path.exists() else []
            subprocess.check_call([*base, "-l", "zh_CN", "-o", str(po_path), addon])
            # the database only holds the translations of data (views, fields, menus); keep the
            # ones of code strings (Python, JavaScript) from the previous file
            known = {(e.msgctxt, e.msgid): e.msgstr for e in previous if e.msgstr and not e.obsolete}
            po = polib.pofile(str(po_path))
            for entry in po:
                if not entry.msgstr and (entry.msgctxt, entry.msgid) in known:
                    entry.msgstr = known[(entry.msgctxt, entry.msgid)]
            po.save(str(po_path))
            say(f"{addon}: {i18n / (addon + '.pot')} and {i18n / 'zh_CN.po'} written")
    finally:
        os.unlink(conf)
        server.drop_database(db, STATE_DIR / "filestore")
    return 0


def cmd_lint(args):
    rc = 0
    say("ruff check")
    rc |= subprocess.call([str(VENV_PYTHON), "-m", "ruff", "check", "addons", "tests"], cwd=ROOT)
    say("ruff format --check")
    rc |= subprocess.call([str(VENV_PYTHON), "-m", "ruff", "format", "--check", "addons", "tests"], cwd=ROOT)
    say("pylint-odoo (OCA mandatory checks)")
    rc |= subprocess.call(
        [
            str(VENV_PYTHON),
            "-m",
            "pylint",
            "--rcfile",
            str(ROOT / ".pylintrc"),
            *sorted(str(p) for p in (ROOT / "addons").iterdir() if (p / "__manifest__.py").exists()),
        ],
        cwd=ROOT,
    )
    say("lint " + ("failed" if rc else "passed"))
    return 1 if rc else 0


def cmd_bench(args):
    server = pg.find_server(say)
    env = dict(os.environ, ECRM_ODOO_SRC=str(ODOO_SRC), **server.env())
    benches = sorted((ROOT / "tests/benchmarks").glob("bench_*.py"))
    if args.only:
        benches = [b for b in benches if args.only in b.name]
    rc = 0
    for bench in benches:
        say(f"Benchmark {bench.name}")
        rc |= subprocess.call([str(VENV_PYTHON), str(bench), "--size", args.size], env=env, cwd=ROOT)
    return rc


def cmd_scale(args):
    """Two servers on one database, crashes in every job, load through JSON-RPC (tests/scale/run.py)."""
    server = pg.find_server(say)
    env = dict(
        os.environ,
        ECRM_ODOO_SRC=str(ODOO_SRC),
        ECRM_DATA_DIR=str(STATE_DIR / "filestore"),
        **server.env(),
    )
    cmd = [str(VENV_PYTHON), str(ROOT / "tests/scale/run.py"), *args.scale_args]
    return subprocess.call(cmd, env=env, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(prog="ecrm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="install the addons with demo data and serve Odoo")
    run.add_argument("--db", default=os.environ.get("ECRM_DB", "ecrm"))
    run.add_argument("--port", type=int, default=int(os.environ.get("ECRM_PORT", "8069")))
    run.add_argument("--no-demo-data", action="store_true", help="skip the generated demo customers and orders")
    run.set_defaults(func=cmd_run)

    test = sub.add_parser("test", help="run every test on a throwaway database")
    test.add_argument("--addons", help="comma-separated subset of the addons (default: all four)")
    test.add_argument("--db", help="name of the throwaway database (default: generated)")
    test.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    test.add_argument("--odoo-only", action="store_true", help="skip the pytest tests under tests/")
    test.add_argument(
        "--test-tags", help="Odoo --test-tags for a subset of the Odoo tests, e.g. /ecrm_loyalty:TestExpiry"
    )
    test.add_argument("--pytest-only", action="store_true", help="skip the addons' Odoo tests")
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    test.set_defaults(func=cmd_test)

    data = sub.add_parser("data", help="generate customers and orders into a database")
    data.add_argument("--db", required=True)
    data.add_argument("--size", default="demo", help="tiny, demo, small, medium, 100k (see tests/datagen)")
    data.add_argument("--seed", type=int, default=42)
    data.add_argument("--create", action="store_true", help="create the database with the four addons first")
    data.add_argument("--append", action="store_true", help="add more data to a database that has some already")
    data.set_defaults(func=cmd_data)

    i18n = sub.add_parser("i18n", help="export the .pot files and refresh the zh_CN.po files")
    i18n.add_argument("--addons", help="comma-separated subset of the addons (default: all four)")
    i18n.set_defaults(func=cmd_i18n)

    lint = sub.add_parser("lint", help="ruff and pylint-odoo")
    lint.set_defaults(func=cmd_lint)

    bench = sub.add_parser("bench", help="run the benchmarks under tests/benchmarks")
    bench.add_argument("--size", default="small")
    bench.add_argument("--only", help="run only benchmarks whose file name contains this")
    bench.set_defaults(func=cmd_bench)

    scale = sub.add_parser("scale", help="two servers, crashes, load (tests/scale; --ci for the small variant)")
    scale.set_defaults(func=cmd_scale)

    args, extra = parser.parse_known_args()
    if args.command == "scale":
        args.scale_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
