"""FakeResharmonics behaves like the service, and cleans up after itself."""

from __future__ import annotations

import datetime
import threading

import pytest
import requests

from requests_resharmonics.testing import EXPIRED_BODY, FakeResharmonics, Portfolio
from requests_resharmonics.testing.api import shapes


def token(fake: FakeResharmonics, **form: str) -> requests.Response:
    data = {"grant_type": "client_credentials", **form}
    return requests.post(fake.token_url, data=data, auth=(fake.client_id, fake.client_secret))


@pytest.mark.parametrize(
    ("data", "auth", "error"),
    [
        ({"grant_type": "client_credentials"}, ("fake-client-id", "nope"), "invalid_client"),
        ({"grant_type": "client_credentials"}, None, "invalid_client"),
        ({"grant_type": "password"}, "good", "unsupported_grant_type"),
        ({}, "good", "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "good", "invalid_scope"),
    ],
)
def test_token_endpoint_errors_in_the_token_service_shape(
    fake_resharmonics: FakeResharmonics,
    data: dict[str, str],
    auth: object,
    error: str,
) -> None:
    fake = fake_resharmonics
    credentials = (fake.client_id, fake.client_secret) if auth == "good" else auth
    response = requests.post(fake.token_url, data=data, auth=credentials)  # type: ignore[arg-type]
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_form_client_authentication(fake_resharmonics: FakeResharmonics) -> None:
    fake = fake_resharmonics
    response = requests.post(
        fake.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2  # JWT-shaped


def test_api_answers_like_the_gateway(fake_resharmonics: FakeResharmonics) -> None:
    fake = fake_resharmonics
    url = fake.base_url + "/api/v3/bookings"
    assert requests.get(url).json() == {"message": "Unauthorized"}
    bearer = {"Authorization": "Bearer " + token(fake).json()["access_token"]}
    assert requests.get(url, headers=bearer).status_code == 200
    fake.expire_all_tokens()
    expired = requests.get(url, headers=bearer)
    assert (expired.status_code, expired.json()) == (401, EXPIRED_BODY)
    assert expired.content == b'{"message": "The incoming token has expired"}'


def test_throttle_answers_429_with_retry_after(fake_resharmonics: FakeResharmonics) -> None:
    fake = fake_resharmonics
    bearer = {"Authorization": "Bearer " + token(fake).json()["access_token"]}
    fake.throttle(count=2, retry_after=3)
    url = fake.base_url + "/api/v3/units"
    first, second, third = (requests.get(url, headers=bearer) for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "3")
    assert second.status_code == 429
    assert third.status_code == 200


@pytest.mark.parametrize(("size", "pages"), [(20, 2), (30, 2), (40, 1), (7, 6)])
def test_spring_pagination(fake_resharmonics: FakeResharmonics, size: int, pages: int) -> None:
    session = fake_resharmonics.session()
    seen: list[int] = []
    for number in range(pages + 1):
        body = session.get("/api/v3/units", params={"page": number, "size": size}).json()
        assert body["page"] == {
            "size": size,
            "number": number,
            "totalElements": 40,
            "totalPages": pages,
        }
        seen.extend(unit["id"] for unit in body["content"])
    assert body["content"] == []  # past the last page: empty, as Spring answers
    assert len(seen) == len(set(seen)) == 40


@pytest.mark.parametrize(
    ("params", "size", "number"),
    [
        ({}, 20, 0),  # Spring Data's defaults
        ({"size": "x", "page": "y"}, 20, 0),  # unreadable: the defaults, not an error
        ({"size": "0"}, 20, 0),
        ({"page": "-3", "size": "5"}, 5, 0),  # negative page: the first
        ({"size": "5000"}, 2000, 0),  # cut to Spring Data's largest page
    ],
)
def test_page_parameters_are_read_as_spring_data_reads_them(
    fake_resharmonics: FakeResharmonics, params: dict[str, str], size: int, number: int
) -> None:
    body = fake_resharmonics.session().get("/api/v3/contacts", params=params).json()
    assert (body["page"]["size"], body["page"]["number"]) == (size, number)
    assert len(body["content"]) == min(size, len(fake_resharmonics.portfolio.contacts))


@pytest.mark.fake_resharmonics(legacy_pagination=True)
def test_legacy_pagination_envelope(fake_resharmonics: FakeResharmonics) -> None:
    body = fake_resharmonics.session().get("/api/v3/units", params={"page": 1}).json()
    assert (body["number"], body["totalPages"], body["last"]) == (1, 2, True)
    assert (body["first"], body["numberOfElements"], body["empty"]) == (False, 20, False)
    assert "page" not in body


def test_data_is_reproducible_for_a_seed_and_a_day() -> None:
    day = datetime.date(2026, 3, 1)

    def rows(seed: int) -> list[dict[str, object]]:
        portfolio = Portfolio(seed, day)
        return [shapes.room_stay_row(portfolio, stay) for stay in portfolio.room_stays.values()]

    assert rows(3) == rows(3)
    assert rows(3) != rows(4)


def test_stop_leaves_no_thread_behind() -> None:
    before = set(threading.enumerate())
    fake = FakeResharmonics(token_lifetime=5).start()
    session = fake.session()
    for _ in range(3):
        session.get("/api/v3/units")  # keep-alive connections stay open on the server
    fake.fail_token_requests("hang")
    fake.hang_seconds = 60
    outcome: list[object] = []

    def wait_for_token() -> None:
        try:
            outcome.append(requests.post(fake.token_url, timeout=30))
        except requests.ConnectionError as error:
            outcome.append(error)

    hanging = threading.Thread(target=wait_for_token)
    hanging.start()
    fake.stop()
    hanging.join(5)
    session.close()
    assert not hanging.is_alive()
    assert len(outcome) == 1
    assert set(threading.enumerate()) - before == set()


def test_unknown_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown token faults"):
        FakeResharmonics().fail_token_requests("explode")
