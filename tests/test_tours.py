"""Browser tours in headless Chromium against the running server."""

import pytest
from harness.browser import run_tour

pytestmark = pytest.mark.tour


def test_tour_opens_ecrm_menu(odoo, rpc):
    console = run_tour(odoo, "ecrm_segments_menu_tour")
    assert any("tour succeeded" in line for line in console)
    assert not odoo.errors_in_log()
