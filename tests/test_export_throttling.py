"""A 429 halves the pages an export keeps in flight, as the server counts them."""

from __future__ import annotations

import threading
from collections.abc import Callable

from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, good_page, paged_server

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]
SIZE = 10
TOTAL = 40 * SIZE
#: How long the server takes over pages 2 to 4 once they are asked again: a window in which an
#: export that did not slow down would already have asked for page 5 (it takes milliseconds).
SLOW = 1.5


def test_a_429_halves_the_pages_in_flight_at_the_server(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    lock = threading.Lock()
    attempts: dict[int, int] = {}
    holder: list[PagedServer] = []
    four_at_once = threading.Barrier(4)

    def answer(asked: Asked) -> Reply:
        server = holder[0]
        with lock:
            attempt = attempts[asked.page] = attempts.get(asked.page, 0) + 1
        reply = good_page(asked, TOTAL)
        if 1 <= asked.page <= 4 and attempt == 1:
            # Pages 1 to 4 are all in flight at once, then all answered 429.
            four_at_once.wait(10)
            return Reply({"message": "Too Many Requests"}, 429, extra_headers={"Retry-After": "0"})
        if 2 <= asked.page <= 4:
            reply.before = lambda: server.closing.wait(SLOW)
        return reply

    server = paged_server(answer)
    holder.append(server)
    session = fake_resharmonics.session(retries=0)  # the export itself copes with the 429s
    rows = session.paginate(server.url, page_size=SIZE, concurrency=4)
    assert [row["id"] for row in rows] == list(range(TOTAL))

    first = {asked.page: asked for asked in reversed(server.asked)}  # each page's first ask
    assert max(first[page].in_flight for page in (1, 2, 3, 4)) == 4  # four at once before
    assert sum(1 for asked in server.asked if 1 <= asked.page <= 4) == 8  # one 429 each
    # The four 429s, to pages sent together, were one signal: they halved the pages in flight
    # once, from 4 to 2, and each page answered since added one. Page 5 is asked for only
    # once page 2 is answered: an export that kept 4 in flight would have asked for it at
    # once, while pages 2 to 4 were all still in flight.
    assert first[5].in_flight <= 3, [(a.page, a.in_flight) for a in server.asked[:14]]
