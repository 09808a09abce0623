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

A test marked ``vcr`` (pytest-recording) records against the fake on a fixed port,
`CASSETTE_PORT` unless the marker names another (vcrpy matches requests on their host and
port). When its cassette is replayed (``--record-mode=none``, pytest-recording's default, or
``once`` with the cassette already there), no server runs: the fixtures give the test a
`ReplayedResharmonics`, with the same addresses and dummy credentials, and the cassette
answers. Around each such test the cassettes' placeholder token is forgotten from the
process's token cache, so that every test starts with a token request of its own, as it
was recorded.

In the test, ``fake_resharmonics.portfolio`` adds or changes records and
``fake_resharmonics.add_route`` serves endpoints the fake does not model.

The plugin is loaded into every pytest run of a project that installs the package: it
imports `requests_resharmonics.testing` only when a test uses one of its fixtures or is
marked ``vcr``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from . import _pytest_vcr

if TYPE_CHECKING:
    from .testing import FakeResharmonics


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that configures the fake server, and the ``vcr_config`` fixture."""
    config.addinivalue_line(
        "markers",
        "fake_resharmonics(**options): options for the fake_resharmonics fixture's server "
        "(token_lifetime, server_lifetime, expiry_style, legacy_pagination, port, seed, "
        "today, client_secret, api_delay, ...)",
    )
    if not config.pluginmanager.has_plugin("resharmonics-cassettes"):
        config.pluginmanager.register(_pytest_vcr, "resharmonics-cassettes")


@pytest.fixture
def fake_resharmonics(request: pytest.FixtureRequest) -> Iterator[FakeResharmonics]:
    """Run a `FakeResharmonics` server on 127.0.0.1 for the duration of one test.

    In a test replayed from a cassette, the server's stand-in (`ReplayedResharmonics`).
    """
    from .testing import CASSETTE_PORT, FakeResharmonics, ReplayedResharmonics

    marker = request.node.get_closest_marker("fake_resharmonics")
    options = dict(marker.kwargs) if marker is not None else {}
    cassette = _cassette(request)
    if cassette is None:
        with FakeResharmonics(**options) as fake:
            yield fake
        return
    options.setdefault("port", CASSETTE_PORT)
    if cassette.write_protected:  # replayed only: the cassette answers everything
        yield ReplayedResharmonics(**options)
        return
    fake = FakeResharmonics(**options)
    try:
        fake.start()
    except OSError as error:
        pytest.fail(
            f"cannot record against the fake on port {options['port']}: {error.strerror}; "
            "choose another with @pytest.mark.fake_resharmonics(port=...)",
            pytrace=False,
        )
    try:
        yield fake
    finally:
        fake.stop()


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


@pytest.fixture(autouse=True)
def _resharmonics_cassette_tokens(request: pytest.FixtureRequest) -> Iterator[None]:
    """Around a test marked ``vcr``, forget the token its cassettes replay from process memory.

    Every cassette's token answer carries the same placeholder; a test that found the
    previous test's would skip the token request its cassette holds.
    """
    if request.node.get_closest_marker("vcr") is None:
        yield
        return
    from .cache.memory import MemoryTokenCache
    from .testing import PLACEHOLDER_TOKEN

    MemoryTokenCache.forget([PLACEHOLDER_TOKEN])
    yield
    MemoryTokenCache.forget([PLACEHOLDER_TOKEN])


def _cassette(request: pytest.FixtureRequest) -> Any:
    """Return pytest-recording's cassette for a test marked ``vcr``, else ``None``."""
    if request.node.get_closest_marker("vcr") is None:
        return None
    try:
        return request.getfixturevalue("vcr")  # None when recording is disabled
    except pytest.FixtureLookupError:  # the marker without pytest-recording
        return None
