"""`ReplayedResharmonics`: the fake as a test sees it while its cassette is replayed.

pytest-recording replays a test marked ``vcr`` from its cassette, which answers every
request: no server need run, and none should (``--block-network`` may be on, and the port
may be taken). The pytest plugin's fixtures then give the test this stand-in, so that the
same test body records against the fake and replays without it.
"""

from __future__ import annotations

from typing import Any

from ._fake import FakeResharmonics


class ReplayedResharmonics(FakeResharmonics):
    """A `FakeResharmonics` that serves nothing, at the address its cassette was recorded at.

    Its addresses use the fixed ``port`` (vcrpy matches requests on host and port), and its
    credentials are the fake's: the client id, and a random secret unless one is given, so
    dummies that only the cassette ever sees. Its settings, data (`portfolio`) and controls
    work as on the fake, but change no answer: the cassette's answers are what the test
    gets, an expiry 401 included. Its counters stay at zero; `replaying` is ``True``.

    Example:
        >>> stand_in = ReplayedResharmonics(port=8642, seed=3)
        >>> stand_in.environ()["RESHARMONICS_TOKEN_URL"]
        'http://127.0.0.1:8642/oauth2/token'
    """

    replaying = True

    def __init__(self, **options: Any) -> None:
        port = options.get("port", 0)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(
                "a test replayed from a cassette needs the port it was recorded at, such as "
                f"@pytest.mark.fake_resharmonics(port=8642), not {port!r}"
            )
        super().__init__(**options)

    def start(self) -> ReplayedResharmonics:
        """Serve nothing: the cassette answers. Return self."""
        return self

    def stop(self) -> None:
        """Nothing to stop."""

    @property
    def port(self) -> int:
        """The port the cassette was recorded at."""
        return self._port

    def __repr__(self) -> str:
        return f"ReplayedResharmonics({self.base_url}, replaying a cassette)"
