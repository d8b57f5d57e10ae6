"""The test command's verdict: what in an Odoo log fails a run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tooling"))

import ecrm

PREFIX = "2026-11-22 07:17:46,961 9462"


def _report(*lines):
    report = ecrm.OdooLogReport()
    for line in lines:
        report.feed(line)
    return report


def test_clean_run_counts_tests():
    report = _report(
        f"{PREFIX} INFO db odoo.addons.ecrm_segments.tests.test_security: Starting TestX.test_a ...",
        f"{PREFIX} INFO db odoo.tests.result: 0 failed, 0 error(s) of 13 tests when loading database 'db'",
    )
    assert (report.runs, report.failed, report.errors, report.problems) == (13, 0, 0, [])
    assert report.result_seen


def test_failures_are_counted_once():
    report = _report(
        f"{PREFIX} ERROR db odoo.addons.ecrm_loyalty.tests.test_security: FAIL: TestY.test_b",
        f"{PREFIX} ERROR db odoo.tests.result: 1 failed, 0 error(s) of 8 tests when loading database 'db'",
    )
    assert (report.runs, report.failed) == (8, 1)
    assert report.problems == []


def test_skipped_tour_fails_the_run():
    report = _report(
        f"{PREFIX} WARNING db odoo.addons.ecrm_loyalty.tests.test_tour: websocket-client module is not installed",
        f"{PREFIX} INFO db odoo.addons.ecrm_loyalty.tests.test_tour: skipped test_tour : websocket-client module is not installed",
        f"{PREFIX} INFO db odoo.tests.result: 0 failed, 0 error(s) of 1 tests when loading database 'db'",
    )
    assert report.skipped == 1
    assert any("skipped" in problem for problem in report.problems)


def test_error_logged_by_anyone_and_warning_logged_by_our_addons_fail_the_run():
    report = _report(
        f"{PREFIX} ERROR db odoo.modules.loading: Some modules are not loaded",
        f"{PREFIX} WARNING db odoo.addons.ecrm_segments.models.res_partner: suspicious",
        f"{PREFIX} WARNING db odoo.addons.base.models.ir_cron: not ours",
    )
    assert len(report.problems) == 2
    assert not report.result_seen
