"""The fake for the rest: added routes, injected faults and latency, HTTP controls, OpenAPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import Answer, ApiRequest, FakeResharmonics

from .test_cli import CLEAN_ENV


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


# -- routes a test adds ---------------------------------------------------------------------


def test_a_fixed_route_answers_behind_the_token_check(
    fake_resharmonics: FakeResharmonics, api: ResharmonicsSession
) -> None:
    fake_resharmonics.add_route("GET", "/api/v3/vatProfiles", {"content": [{"id": 1}]})
    assert api.get("/api/v3/vatProfiles").json() == {"content": [{"id": 1}]}
    anonymous = requests.get(fake_resharmonics.base_url + "/api/v3/vatProfiles")
    assert anonymous.status_code == 401
    fake_resharmonics.add_route("GET", "/api/v3/vatProfiles", {"message": "down"}, status=503)
    without_retries = fake_resharmonics.session(retries=0)
    assert without_retries.get("/api/v3/vatProfiles").status_code == 503


def test_a_function_route_sees_the_request_and_the_portfolio(
    fake_resharmonics: FakeResharmonics, api: ResharmonicsSession
) -> None:
    def invoices(request: ApiRequest) -> Any:
        booking = request.portfolio.bookings.get(request.id())
        if booking is None:
            return 404, {"message": "no such booking"}
        return Answer(200, {"bookingReference": booking.reference, "q": request.query.text("q")})

    fake_resharmonics.add_route("GET", "/api/v3/bookings/{id}/invoices", invoices)
    answer = api.get("/api/v3/bookings/20001/invoices", params={"q": "x"})
    assert answer.json() == {
        "bookingReference": fake_resharmonics.portfolio.bookings[20001].reference,
        "q": "x",
    }
    assert api.get("/api/v3/bookings/9/invoices").status_code == 404


def test_an_added_route_replaces_a_built_in_one(
    fake_resharmonics: FakeResharmonics, api: ResharmonicsSession
) -> None:
    fake_resharmonics.add_route("GET", "/api/v3/units/{id}", {"id": 0, "name": "mine"})
    assert api.get("/api/v3/units/1001").json() == {"id": 0, "name": "mine"}
    assert api.get("/api/v3/units").status_code == 200  # the list is untouched
    fake_resharmonics.reset()
    assert api.get("/api/v3/units/1001").json()["id"] == 1001


# -- faults and latency on the API ----------------------------------------------------------


def test_api_faults_and_latency(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session(retries=0)
    session.fetch_token()
    fake_resharmonics.fail_api_requests("500", "429", "pass", "503")
    statuses = [session.get("/api/v3/units").status_code for _ in range(5)]
    assert statuses == [500, 429, 200, 503, 200]
    fake_resharmonics.api_delay = 0.3
    started = time.monotonic()
    assert session.get("/api/v3/units").status_code == 200
    assert time.monotonic() - started >= 0.3
    fake_resharmonics.api_delay = 0
    fake_resharmonics.hang_seconds = 0.4
    fake_resharmonics.fail_api_requests("hang")
    started = time.monotonic()
    assert session.get("/api/v3/units").status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(ValueError, match="unknown API faults"):
        fake_resharmonics.fail_api_requests("explode")


# -- the controls over HTTP -----------------------------------------------------------------


def test_controls_over_http(fake_resharmonics: FakeResharmonics, api: ResharmonicsSession) -> None:
    fake = fake_resharmonics
    controls = fake.controls_url
    listing = requests.get(controls).json()
    assert "POST /_fake/tokens/expire" in listing["controls"]
    assert "503" in listing["tokenFaults"]
    api.get("/api/v3/units")
    assert requests.post(controls + "tokens/expire").json() == {"expired": 1}
    response = api.get("/api/v3/units")
    assert [r.status_code for r in response.history] == [401]
    requests.post(controls + "faults/token", json={"faults": ["503"]})
    fake.expire_all_tokens()
    assert api.get("/api/v3/units").status_code == 200  # the 503 was retried
    requests.post(controls + "faults/api", json={"faults": ["503"]})
    assert fake.session(retries=0).get("/api/v3/units").status_code == 503
    requests.post(controls + "throttle", json={"count": 1, "retryAfter": 0})
    assert fake.session(retries=0).get("/api/v3/units").status_code == 429
    latency = requests.post(controls + "latency", json={"api": 0.05, "token": 0.01}).json()
    assert (latency["api"], fake.api_delay, fake.token_delay) == (0.05, 0.05, 0.01)
    route = {"method": "GET", "path": "/api/v3/teams", "status": 200, "body": [{"id": 3}]}
    assert requests.post(controls + "routes", json=route).status_code == 200
    assert api.get("/api/v3/teams").json() == [{"id": 3}]
    stats = requests.get(controls + "stats").json()
    assert stats["tokenRequests"] == fake.token_requests
    fake.portfolio.add_unit("Gone after reset")
    assert requests.post(controls + "reset").json() == {"reset": True}
    assert api.get("/api/v3/teams").status_code == 404
    assert len(fake.portfolio.units) == 40
    assert requests.get(controls + "stats").json()["apiRequests"] == 1


@pytest.mark.parametrize(
    ("method", "name", "body", "status", "words"),
    [
        ("POST", "nothing", {}, 404, "GET /_fake/"),
        ("POST", "faults/token", {"faults": "503"}, 400, "faults"),
        ("POST", "faults/api", {"faults": ["explode"]}, 400, "explode"),
        ("POST", "latency", {"api": 9999}, 400, "600"),
        ("POST", "routes", {"path": "no-slash"}, 400, "path"),
        ("POST", "throttle", ["not", "an", "object"], 400, "object"),
    ],
)
def test_control_errors_say_what_is_wrong(
    fake_resharmonics: FakeResharmonics,
    method: str,
    name: str,
    body: Any,
    status: int,
    words: str,
) -> None:
    response = requests.request(method, fake_resharmonics.controls_url + name, json=body)
    assert response.status_code == status
    assert words in response.json()["error"]


# -- the OpenAPI document -------------------------------------------------------------------


def test_api_docs_describe_exactly_what_is_served(
    fake_resharmonics: FakeResharmonics, api: ResharmonicsSession
) -> None:
    fake_resharmonics.add_route("GET", "/api/v3/teams", [])
    document = api.get("/v3/api-docs").json()
    assert document["openapi"].startswith("3.")
    served = {(route.method.lower(), route.path) for route in fake_resharmonics.router.routes}
    described = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert described == served
    assert document["paths"]["/api/v3/teams"]["get"]["x-source"] == "user"
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    bookings = document["paths"]["/api/v3/bookings"]["get"]
    names = {param["name"] for param in bookings["parameters"]}
    assert {"dateFrom", "statuses", "lastUpdatedFrom", "page", "size", "sort"} <= names
    row = bookings["responses"]["200"]["content"]["application/json"]["schema"]
    fields = row["properties"]["content"]["items"]["properties"]
    assert {"bookingReference", "roomStayStatus", "startDate", "unit"} <= set(fields)
    assert "guess" in document["paths"]["/api/v3/buildings"]["get"]["x-guess"]


def test_every_list_path_in_the_document_answers(api: ResharmonicsSession) -> None:
    document = api.get("/v3/api-docs").json()
    dates = {"dateFrom": "2026-12-01", "dateTo": "2026-12-08"}
    checked = 0
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path or path == "/v3/api-docs":
            continue
        required = {p["name"] for p in get["parameters"] if p["required"]}
        params = {name: dates[name] for name in required}
        response = api.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        assert "content" in response.json()
        checked += 1
    assert checked == 21  # with the activities list


# -- `resharmonics fake-server` for other languages ------------------------------------------


@pytest.fixture
def fake_server() -> Iterator[dict[str, str]]:
    env = {
        **CLEAN_ENV,
        "RESHARMONICS_FAKE_CLIENT_ID": "js-client",
        "RESHARMONICS_FAKE_CLIENT_SECRET": "js-secret",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "requests_resharmonics", "fake-server", "--token-lifetime", "60",
         "--today", "2026-06-01", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(7)]
        found = {
            key.strip(): value.strip()
            for key, _, value in (line.partition(":") for line in lines[1:])
        }
        yield found
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_fake_server_takes_fixed_credentials_and_never_prints_them(
    fake_server: dict[str, str],
) -> None:
    assert fake_server["client id"] == "js-client"
    assert "js-secret" not in str(fake_server)
    answer = requests.post(
        fake_server["token URL"],
        data={"grant_type": "client_credentials"},
        auth=("js-client", "js-secret"),
    )
    assert answer.json()["expires_in"] == 60
    rows = requests.get(
        fake_server["base URL"] + "/api/v3/guestStays",
        headers={"Authorization": "Bearer " + answer.json()["access_token"]},
    ).json()["content"]
    assert rows
    assert all(row["dateFrom"] < "2027" for row in rows)  # built around --today
    assert requests.get(fake_server["controls"]).status_code == 200


NODE_CLIENT = r"""
const [base, tokenUrl, controls] = process.argv.slice(1);
const basic = Buffer.from("js-client:js-secret").toString("base64");
async function token() {
  const answer = await fetch(tokenUrl, {
    method: "POST",
    headers: {Authorization: "Basic " + basic,
              "Content-Type": "application/x-www-form-urlencoded"},
    body: "grant_type=client_credentials",
  });
  return (await answer.json()).access_token;
}
(async () => {
  let bearer = await token();
  const get = (path) => fetch(base + path, {headers: {Authorization: "Bearer " + bearer}});
  const units = await (await get("/api/v3/units?size=500")).json();
  await fetch(controls + "tokens/expire", {method: "POST"});
  const expired = await get("/api/v3/units/" + units.content[0].id);
  const body = await expired.json();
  bearer = await token();
  const unit = await (await get("/api/v3/units/" + units.content[0].id)).json();
  console.log(JSON.stringify({units: units.page.totalElements, expired: expired.status,
                              message: body.message, name: unit.name}));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_javascript_client_against_the_fake_server(fake_server: dict[str, str]) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", NODE_CLIENT, fake_server["base URL"], fake_server["token URL"],
         fake_server["controls"]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["units"] == 40
    assert (report["expired"], report["message"]) == (401, "The incoming token has expired")
    assert report["name"]
