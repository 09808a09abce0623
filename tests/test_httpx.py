"""`ResharmonicsHTTPXAuth`: the core token behaviour, through httpx's Client and AsyncClient."""

from __future__ import annotations

import asyncio
import pickle
import threading
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator

import anyio.to_thread
import httpx
import pytest
import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics.errors import InsecureTransportError
from requests_resharmonics.httpx import ResharmonicsHTTPXAuth
from requests_resharmonics.testing import EXPIRED_BODY, FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import FakeClock, StartHost
from .test_concurrency import together
from .test_side_doors import StartRaw, endless_chunked_401

CALLS = 64


def httpx_auth(fake: FakeResharmonics, **kwargs: object) -> ResharmonicsHTTPXAuth:
    return ResharmonicsHTTPXAuth(fake.client_id, fake.client_secret, fake.token_url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_cold_start_sync_makes_one_token_request(fake_resharmonics: FakeResharmonics) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"
    with httpx.Client(auth=httpx_auth(fake_resharmonics)) as client:
        statuses = together(CALLS, lambda: client.get(url).status_code)
    assert statuses == [200] * CALLS
    assert fake_resharmonics.token_requests == 1


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_cold_start_async_makes_one_token_request(fake_resharmonics: FakeResharmonics) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"

    async def run() -> list[int]:
        async with httpx.AsyncClient(auth=httpx_auth(fake_resharmonics)) as client:
            responses = await asyncio.gather(*(client.get(url) for _ in range(CALLS)))
        return [response.status_code for response in responses]

    assert asyncio.run(run()) == [200] * CALLS
    assert fake_resharmonics.token_requests == 1


def test_an_expired_token_is_renewed_and_the_call_replayed_sync(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = httpx_auth(fake_resharmonics)
    with httpx.Client(auth=auth) as client:
        first = auth.valid_token()
        fake_resharmonics.expire_all_tokens()
        response = client.post(
            fake_resharmonics.base_url + "/api/v3/contacts",
            json={"firstName": "Ada", "lastName": "Lovelace"},
        )
    assert response.status_code in (200, 201)
    assert [r.status_code for r in response.history] == [401]
    assert response.history[0].json() == EXPIRED_BODY  # the 401 stays readable
    assert auth.token is not None and auth.token.access_token != first.access_token
    assert fake_resharmonics.token_requests == 2
    posted = [r for r in fake_resharmonics.requests if r.path == "/api/v3/contacts"]
    assert len(posted) == 2 and posted[0].body == posted[1].body


def test_an_expired_token_is_renewed_and_the_call_replayed_async(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = httpx_auth(fake_resharmonics)

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth, base_url=fake_resharmonics.base_url) as client:
            await auth.avalid_token()
            fake_resharmonics.expire_all_tokens()
            return await client.get("/api/v3/units")

    response = asyncio.run(run())
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert fake_resharmonics.token_requests == 2
    assert fake_resharmonics.api_requests == 2


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_a_burst_after_revocation_makes_one_token_request_sync(
    fake_resharmonics: FakeResharmonics,
) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"
    auth = httpx_auth(fake_resharmonics)
    with httpx.Client(auth=auth, limits=httpx.Limits(max_connections=CALLS)) as client:
        auth.valid_token()
        fake_resharmonics.expire_all_tokens()
        statuses = together(CALLS, lambda: client.get(url).status_code)
    assert statuses == [200] * CALLS
    assert fake_resharmonics.token_requests == 2  # the first token, and one renewal
    assert fake_resharmonics.api_requests == 2 * CALLS


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_a_burst_after_revocation_makes_one_token_request_async(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = httpx_auth(fake_resharmonics)
    auth.valid_token()
    fake_resharmonics.expire_all_tokens()

    async def run() -> list[int]:
        async with httpx.AsyncClient(auth=auth, base_url=fake_resharmonics.base_url) as client:
            responses = await asyncio.gather(*(client.get("/api/v3/units") for _ in range(CALLS)))
        return [response.status_code for response in responses]

    worker_calls: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(call: Callable[..., object], *args: object) -> object:
        worker_calls.append(call)
        return await run_sync(call, *args)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    assert asyncio.run(run()) == [200] * CALLS
    assert fake_resharmonics.token_requests == 2
    assert fake_resharmonics.api_requests == 2 * CALLS
    # The coroutines waited for one renewal in one worker thread, not in a thread each.
    assert len(worker_calls) == 1


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_proactive_renewal_makes_one_token_request_sync_and_async(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"
    auth = httpx_auth(fake_resharmonics, background_renewal=False)
    auth._manager.clock = clock
    first = auth.valid_token()
    clock.advance(3590)  # inside the renewal window, not yet expired
    with httpx.Client(auth=auth) as client:
        assert together(CALLS, lambda: client.get(url).status_code) == [200] * CALLS
    assert fake_resharmonics.token_requests == 2
    second = auth.token
    assert second is not None and second.access_token != first.access_token

    clock.advance(3590)

    async def run() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as client:
            responses = await asyncio.gather(*(client.get(url) for _ in range(CALLS)))
        return [response.status_code for response in responses]

    assert asyncio.run(run()) == [200] * CALLS
    assert fake_resharmonics.token_requests == 3
    assert fake_resharmonics.api_requests == 2 * CALLS  # no call was rejected


def test_a_slow_token_request_does_not_block_the_event_loop(other_host: StartHost) -> None:
    token_asked = threading.Event()
    release = threading.Event()

    def answer(incoming: Incoming) -> Answer:
        if incoming.path == "/oauth2/token":
            token_asked.set()
            if not release.wait(20):  # a blocked loop never releases it: fail, do not hang
                return Answer(500, {"error": "the event loop was blocked"})
            return Answer(200, {"access_token": "slow-token", "expires_in": 3600})
        return Answer(200, {"authorization": incoming.headers.get("authorization")})

    host = other_host(answer)
    base = f"http://127.0.0.1:{host.port}"
    auth = ResharmonicsHTTPXAuth("slow-client", "slow-secret", base + "/oauth2/token")

    async def run() -> tuple[bool, httpx.Response]:
        async with httpx.AsyncClient(auth=auth) as client:
            call = asyncio.create_task(client.get(base + "/api/v3/units"))
            while not token_asked.is_set():  # the loop runs this while the call waits
                await asyncio.sleep(0.005)
            still_waiting = not call.done()
            release.set()
            return still_waiting, await call

    still_waiting, response = asyncio.run(run())
    assert still_waiting
    assert response.json() == {"authorization": "Bearer slow-token"}


def test_requests_and_httpx_share_one_token(fake_resharmonics: FakeResharmonics) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"
    assert requests.get(url, auth=fake_resharmonics.auth(), timeout=30).status_code == 200
    auth = httpx_auth(fake_resharmonics)
    assert httpx.get(url, auth=auth).status_code == 200
    assert asyncio.run(_get_async(url, auth)) == 200
    assert fake_resharmonics.token_requests == 1


async def _get_async(url: str, auth: ResharmonicsHTTPXAuth) -> int:
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.get(url)
        return response.status_code


def test_other_401s_are_returned_as_they_are(fake_resharmonics: FakeResharmonics) -> None:
    auth = httpx_auth(fake_resharmonics)
    token = auth.valid_token()
    fake_resharmonics.revoke(token.access_token)  # unknown to the API: "Unauthorized"
    response = httpx.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert fake_resharmonics.token_requests == 1


def test_a_streamed_body_is_not_replayed(fake_resharmonics: FakeResharmonics) -> None:
    auth = httpx_auth(fake_resharmonics)
    first = auth.valid_token()
    fake_resharmonics.expire_all_tokens()

    def chunks() -> Iterator[bytes]:
        yield b'{"firstName": "Ada", "lastName": "Lovelace"}'

    response = httpx.post(
        fake_resharmonics.base_url + "/api/v3/contacts",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        auth=auth,
    )
    assert response.status_code == 401  # the stream is spent: no replay
    assert auth.token is None or auth.token.access_token != first.access_token
    assert httpx.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth).status_code == 200


def test_a_streamed_body_is_not_replayed_async(fake_resharmonics: FakeResharmonics) -> None:
    auth = httpx_auth(fake_resharmonics)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"firstName": "Ada", "lastName": "Lovelace"}'

    async def run() -> int:
        async with httpx.AsyncClient(auth=auth) as client:
            await auth.avalid_token()
            fake_resharmonics.expire_all_tokens()
            response = await client.post(
                fake_resharmonics.base_url + "/api/v3/contacts", content=chunks()
            )
            status: int = response.status_code
            return status

    assert asyncio.run(run()) == 401
    assert fake_resharmonics.api_requests == 1


def test_the_token_goes_only_to_allowed_hosts(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {}))
    auth = httpx_auth(fake_resharmonics, allowed_hosts=["127.0.0.1"])
    assert httpx.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth).status_code == 200
    httpx.get(f"http://localhost:{elsewhere.port}/download", auth=auth)
    assert "authorization" not in elsewhere.seen[0].headers


def test_a_redirect_to_another_host_goes_without_the_token(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {"downloaded": True}))
    fake_resharmonics.add_route(
        "GET",
        "/api/v3/export",
        None,
        status=302,
        headers={"Location": f"http://localhost:{elsewhere.port}/signed-download"},
    )
    auth = httpx_auth(fake_resharmonics)
    url = fake_resharmonics.base_url + "/api/v3/export"
    with httpx.Client(auth=auth, follow_redirects=True) as client:
        assert client.get(url).json() == {"downloaded": True}

    async def run() -> None:
        async with httpx.AsyncClient(auth=auth, follow_redirects=True) as client:
            assert (await client.get(url)).json() == {"downloaded": True}

    asyncio.run(run())
    assert len(elsewhere.seen) == 2
    assert all("authorization" not in seen.headers for seen in elsewhere.seen)


def test_plain_http_off_loopback_is_refused(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    sent: list[httpx.Request] = []

    def send(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    transport = httpx.MockTransport(send)
    client = httpx.Client(auth=httpx_auth(fake_resharmonics), transport=transport)
    with client, pytest.raises(InsecureTransportError, match="plain http"):
        client.get("http://api.example.com/api/v3/units")
    assert sent == []


def test_from_env_and_a_repr_without_the_token(resharmonics_env: FakeResharmonics) -> None:
    auth = ResharmonicsHTTPXAuth.from_env()
    token = auth.valid_token()
    for text in (repr(auth), auth._repr_html_()):
        assert token.access_token not in text
        assert resharmonics_env.client_secret not in text
    assert "fake-client-id" in repr(auth)
    restored = pickle.loads(pickle.dumps(auth))
    assert restored.client_id == auth.client_id


def test_the_same_arguments_as_the_requests_auth() -> None:
    import inspect

    ours = inspect.signature(ResharmonicsHTTPXAuth.__init__).parameters
    theirs = inspect.signature(ResharmonicsAuth.__init__).parameters
    assert list(ours) == list(theirs)


def test_an_endless_401_is_read_only_up_to_the_bound(
    fake_resharmonics: FakeResharmonics, raw_server: StartRaw
) -> None:
    api = raw_server(endless_chunked_401)
    auth = httpx_auth(fake_resharmonics)
    auth.valid_token()
    url = f"http://127.0.0.1:{api.port}/api"

    async def get_async() -> httpx.Response:
        client = httpx.AsyncClient(auth=auth, timeout=10)
        async with client, client.stream("GET", url) as response:
            return response

    tracemalloc.start()
    try:
        with httpx.Client(auth=auth, timeout=10) as client, client.stream("GET", url) as sync:
            assert sync.status_code == 401
            assert sync.history == []  # not the expiry message: returned as it is
        answer = asyncio.run(get_async())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.status_code == 401 and answer.history == []
    assert peak < 8 * 1024 * 1024  # 300 MiB were on offer
