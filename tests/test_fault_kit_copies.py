"""The fault matrix's kit is one file kept in three places (each distribution's tests run on
their own): the copies stay identical."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("plugin", ["hubspot", "gmail"])
def test_the_plugins_copy_of_the_fault_kit_is_the_cores(plugin: str) -> None:
    """plugins/NAME/tests/faultkit.py is a byte-for-byte copy of tests/faultkit.py."""
    copy = ROOT / "plugins" / plugin / "tests" / "faultkit.py"
    if not copy.exists():
        pytest.skip(f"{copy} is not in this checkout")
    assert copy.read_bytes() == (ROOT / "tests" / "faultkit.py").read_bytes(), (
        f"cp tests/faultkit.py {copy.relative_to(ROOT)}"
    )
