"""The browser tests' driver starts on the real clock without touching this process's clock.

Why: libfaketime (``make test-at``) reads ``FAKETIME`` from the environment again every few
seconds. Removing it from ``os.environ`` while Playwright's driver started made the test
process itself run on the real clock for a while, hours away from the fake one, and a
Sentinel tab test failed at 08:30.
"""

from __future__ import annotations

import os

from tests.conftest import _real_clock_driver


def test_driver_start_filters_its_own_environment_not_this_process() -> None:
    from playwright._impl import transport

    # Under `make test-at` FAKETIME is set already and must not change (it is this
    # process's clock); otherwise set one as `faketime` would, for the check.
    added = "FAKETIME" not in os.environ
    if added:
        os.environ["FAKETIME"] = "@2026-12-01 08:30:00"
    try:
        before = dict(os.environ)
        with _real_clock_driver():
            assert dict(os.environ) == before  # this process keeps its fake clock
            driver_env = transport.get_driver_env()
        assert "FAKETIME" not in driver_env and "LD_PRELOAD" not in driver_env
        assert "FAKETIME" in transport.get_driver_env()  # restored afterwards
    finally:
        if added:
            os.environ.pop("FAKETIME", None)
