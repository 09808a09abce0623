"""The pytest plugin's ``vcr_config`` fixture, in a module of its own.

pytest uses the fixture registered last among plugins (and a conftest's over any), so this
module is registered after the plugins, pytest-recording's included, when pytest starts
(see `requests_resharmonics.pytest_plugin`). A module rather than a class, because pytest 9
deprecates module-scoped fixtures that are instance methods.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """Return settings that keep Res:Harmonics credentials and tokens out of cassettes."""
    from .testing import vcr_config as scrubbing_settings  # the fake only when it is used

    return scrubbing_settings()
