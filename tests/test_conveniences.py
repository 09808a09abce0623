"""Session conveniences: every page of a list, back-off on rate limits, token host scoping."""

from __future__ import annotations

import json
import time

import pytest
import requests
from urllib3.util.retry import Retry

from requests_resharmonics import ConfigurationError, PaginationError
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import StartHost, add_echo
from .test_cli import run

ALL_UNITS = [1000 + number for number in range(1, 41)]  # the seeded portfolio's 40 units


def api_calls(fake: FakeResharmonics, path: str = "/api/v3/units") -> int:
    return sum(1 for seen in fake.requests if seen.path == path)


# -- pagination ----------------------------------------------------------------------------


@pytest.mark.parametrize(("page_size", "pages"), [(1, 40), (7, 6), (20, 2), (40, 1), (1000, 1)])
@pytest.mark.parametrize("legacy", [False, True], ids=["page-envelope", "legacy-envelope"])
def test_paginate_yields_every_item_once_in_order(
    fake_resharmonics: FakeResharmonics, page_size: int, pages: int, legacy: bool
) -> None:
    fake_resharmonics.legacy_pagination = legacy
    session = fake_resharmonics.session()
    ids = [unit["id"] for unit in session.paginate("/api/v3/units", page_size=page_size)]
    assert ids == ALL_UNITS
    assert api_calls(fake_resharmonics) == pages


def test_paginate_without_prefetch_requests_the_next_page_only_when_needed(
    fake_resharmonics: FakeResharmonics,
) -> None:
    items = fake_resharmonics.session().paginate("/api/v3/units", page_size=20, prefetch=False)
    assert api_calls(fake_resharmonics) == 0
    first = [next(items) for _ in range(20)]
    assert api_calls(fake_resharmonics) == 1
    first.append(next(items))
    assert api_calls(fake_resharmonics) == 2
    assert [unit["id"] for unit in first] == ALL_UNITS[:21]


def test_paginate_keeps_filters_and_a_starting_page(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    confirmed = list(session.paginate("/api/v3/bookings", {"statuses": "CONFIRMED"}, page_size=7))
    stays = fake_resharmonics.portfolio.room_stays
    expected = sorted(key for key, stay in stays.items() if stay.status == "CONFIRMED")
    assert [row["roomStayId"] for row in confirmed] == expected
    assert {row["roomStayStatus"] for row in confirmed} == {"CONFIRMED"}
    assert all(seen.query["statuses"] == "CONFIRMED" for seen in fake_resharmonics.requests[1:])
    tail = list(session.paginate("/api/v3/units", {"page": 1, "size": 15}))
    assert [unit["id"] for unit in tail] == ALL_UNITS[15:]


def test_paginate_stops_on_an_empty_list(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    assert list(session.paginate("/api/v3/bookings", {"bookingReference": "nothing"})) == []
    assert api_calls(fake_resharmonics, "/api/v3/bookings") == 1


def test_paginate_refuses_an_answer_that_is_not_a_page(
    fake_resharmonics: FakeResharmonics,
) -> None:
    session = fake_resharmonics.session()
    with pytest.raises(PaginationError, match=r"did not answer with a page.*'id'"):
        list(session.paginate("/api/v3/units/1001"))


def test_paginate_raises_http_errors(fake_resharmonics: FakeResharmonics) -> None:
    with pytest.raises(requests.HTTPError):
        list(fake_resharmonics.session().paginate("/api/v3/nothing"))


def pages_without_metadata(pages: list[list[int]], honour_page: bool = True) -> object:
    def answer(incoming: Incoming) -> Answer:
        number = int(incoming.query["page"]) if honour_page else 0
        content = pages[number] if number < len(pages) else []
        return Answer(200, {"content": content})

    return answer


def test_paginate_without_metadata_stops_at_a_short_page(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    api = other_host(pages_without_metadata([[1, 2], [3, 4], [5]]))  # type: ignore[arg-type]
    session = fake_resharmonics.session(allowed_hosts=["127.0.0.1"])
    url = f"http://127.0.0.1:{api.port}/list"
    assert list(session.paginate(url, page_size=2)) == [1, 2, 3, 4, 5]
    assert len(api.seen) == 3


def test_paginate_detects_a_server_that_ignores_the_page_parameter(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    api = other_host(pages_without_metadata([[1, 2]], honour_page=False))  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{api.port}/list"
    with pytest.raises(PaginationError, match="ignores the page parameter"):
        list(fake_resharmonics.session().paginate(url, page_size=2))


def test_paginate_detects_the_wrong_page(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    api = other_host(lambda incoming: Answer(200, {"content": [1], "page": {"number": 0}}))
    url = f"http://127.0.0.1:{api.port}/list"
    items = fake_resharmonics.session().paginate(url, page_size=1)
    assert next(items) == 1
    with pytest.raises(PaginationError, match="answered page 0 when asked for page 1"):
        next(items)


def test_loop_over_all_bookings_as_in_the_readme(resharmonics_env: FakeResharmonics) -> None:
    from requests_resharmonics import ResharmonicsSession

    with ResharmonicsSession() as session:
        references = [b["bookingReference"] for b in session.paginate("/api/v3/bookings")]
    stays = resharmonics_env.portfolio.room_stays.values()
    assert len(references) == sum(stay.status != "PENDING" for stay in stays)  # as documented


# -- rate limits ---------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_for(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    session.fetch_token()
    fake_resharmonics.throttle(count=1, retry_after=1)
    started = time.monotonic()
    response = session.get("/api/v3/units")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.9
    assert api_calls(fake_resharmonics, "/api/v3/units") == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_requests_are_never_retried(
    fake_resharmonics: FakeResharmonics, method: str
) -> None:
    session = fake_resharmonics.session()
    session.fetch_token()
    fake_resharmonics.throttle(count=1, retry_after=0)
    response = session.request(method, add_echo(fake_resharmonics), json={"charge": 100})
    assert response.status_code == 429
    assert api_calls(fake_resharmonics, "/api/v3/echo") == 1


@pytest.mark.parametrize(
    ("method", "status"),
    [
        *[("GET", status) for status in (502, 503, 504)],
        *[(method, 503) for method in ("HEAD", "OPTIONS", "PUT", "DELETE")],
    ],
)
def test_idempotent_requests_are_retried_on_gateway_errors(
    fake_resharmonics: FakeResharmonics, other_host: StartHost, method: str, status: int
) -> None:
    statuses = iter([status])

    def flaky(incoming: Incoming) -> Answer:
        return Answer(next(statuses, 200), {})

    api = other_host(flaky)
    session = fake_resharmonics.session(allowed_hosts=["127.0.0.1"])
    response = session.request(method, f"http://127.0.0.1:{api.port}/x")
    assert response.status_code == 200
    assert len(api.seen) == 2


def test_retries_can_be_turned_off_or_configured(
    fake_resharmonics: FakeResharmonics,
) -> None:
    session = fake_resharmonics.session(retries=0)
    session.fetch_token()
    fake_resharmonics.throttle(count=2, retry_after=0)
    assert session.get("/api/v3/units").status_code == 429
    custom = fake_resharmonics.session(retries=Retry(total=1, status_forcelist=[429]))
    custom.fetch_token()
    assert custom.get("/api/v3/units").status_code == 200
    with pytest.raises(ConfigurationError, match="retries"):
        fake_resharmonics.session(retries=-1)


# -- token scoping -------------------------------------------------------------------------


def test_token_goes_only_to_the_base_url_host(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    other = other_host(lambda incoming: Answer(200, {}))
    session = fake_resharmonics.session()
    assert session.get(f"http://localhost:{other.port}/presigned").status_code == 200
    assert "authorization" not in other.seen[0].headers
    assert fake_resharmonics.token_requests == 0
    allowed = fake_resharmonics.session(allowed_hosts=["localhost"])
    allowed.get(f"http://localhost:{other.port}/partner")
    assert "authorization" in other.seen[1].headers


# -- command line --------------------------------------------------------------------------


def test_cli_get_all_prints_one_json_array(fake_resharmonics: FakeResharmonics) -> None:
    result = run("get", "/api/v3/units", "--all", env=fake_resharmonics.environ())
    assert result.returncode == 0, result.stderr
    assert [unit["id"] for unit in json.loads(result.stdout)] == ALL_UNITS


def test_cli_get_jsonl_prints_one_item_a_line(fake_resharmonics: FakeResharmonics) -> None:
    result = run("get", "/api/v3/units", "--jsonl", "-p", "size=5", env=fake_resharmonics.environ())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 40
    assert json.loads(lines[0])["id"] == 1001


def test_cli_get_all_on_something_that_is_not_a_list(
    fake_resharmonics: FakeResharmonics,
) -> None:
    result = run("get", "/api/v3/units/1001", "--all", env=fake_resharmonics.environ())
    assert result.returncode == 1
    assert "did not answer with a page" in result.stderr
    assert "Traceback" not in result.stderr
