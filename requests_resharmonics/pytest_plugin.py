"""pytest fixtures for testing code that calls Res:Harmonics, against `FakeResharmonics`.

Installed with the package (a ``pytest11`` entry point), so the fixtures are simply there:

- ``fake_resharmonics``: a running fake server for the test.
- ``resharmonics_env``: the same server, with the ``RESHARMONICS_*`` environment variables
  pointing at it, for code that reads its configuration from the environment.
- ``vcr_config``: the settings pytest-recording records cassettes with, from
  `requests_resharmonics.testing.vcr_config`: no ``Authorization`` header, client secret or
  token is written into a cassette, and token requests replay like any other. A
  ``vcr_config`` fixture of your own (in a ``conftest.py``) replaces it; build yours on
  ``testing.vcr_config(...)`` to keep the scrubbing.

Mark a test to configure the server (any `FakeResharmonics` argument)::

    @pytest.mark.fake_resharmonics(token_lifetime=2, legacy_pagination=True, seed=3)
    def test_sync(fake_resharmonics): ...

For cassettes recorded against the fake, fix what would otherwise change from run to run:
``@pytest.mark.fake_resharmonics(port=8642, seed=3, today=datetime.date(2026, 11, 28))``
(vcrpy matches requests on their host and port).

In the test, ``fake_resharmonics.portfolio`` adds or changes records and
``fake_resharmonics.add_route`` serves endpoints the fake does not model.

The plugin is loaded into every pytest run of a project that installs the package: it
imports `requests_resharmonics.testing` only when a test uses one of its fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import FakeResharmonics


class _CassetteFixtures:
    """pytest-recording's ``vcr_config``, registered after the plugins so that ours is used.

    pytest uses the fixture registered last among plugins (and a conftest's over any).
    """

    @pytest.fixture(scope="module")
    def vcr_config(self) -> dict[str, Any]:
        """Return settings that keep Res:Harmonics credentials and tokens out of cassettes."""
        from .testing import vcr_config

        return vcr_config()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that configures the fake server."""
    config.addinivalue_line(
        "markers",
        "fake_resharmonics(**options): options for the fake_resharmonics fixture's server "
        "(token_lifetime, server_lifetime, expiry_style, legacy_pagination, port, seed, "
        "today, client_secret, api_delay, ...)",
    )
    if not config.pluginmanager.has_plugin("resharmonics-cassettes"):
        config.pluginmanager.register(_CassetteFixtures(), "resharmonics-cassettes")


@pytest.fixture
def fake_resharmonics(request: pytest.FixtureRequest) -> Iterator[FakeResharmonics]:
    """Run a `FakeResharmonics` server on 127.0.0.1 for the duration of one test."""
    from .testing import FakeResharmonics

    marker = request.node.get_closest_marker("fake_resharmonics")
    options = dict(marker.kwargs) if marker is not None else {}
    with FakeResharmonics(**options) as fake:
        yield fake


@pytest.fixture
def resharmonics_env(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> FakeResharmonics:
    """Point the ``RESHARMONICS_*`` environment variables at the fake server; return it."""
    monkeypatch.delenv("RESHARMONICS_SCOPE", raising=False)
    monkeypatch.delenv("RESHARMONICS_ENVIRONMENT", raising=False)
    for name, value in fake_resharmonics.environ().items():
        monkeypatch.setenv(name, value)
    return fake_resharmonics
