"""The canary: the private names of requests and urllib3 the library relies on are still there.

Cutting an export's sockets, per-attempt deadlines on token requests and the bounded read of
a 401 need a few private names of requests and urllib3 (each module that uses one lists it
in its docstring). An upgrade may drop or change any of them, and some would fail silently
(a renamed attribute read with a default, a pool class set on a manager that no longer reads
it). Each is checked here, by what the library does with it, and a missing one fails with a
message naming the name, the installed versions and the module that needs it.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

CANCEL = "requests_resharmonics._export.cancel"
DEADLINE = "requests_resharmonics._tokens.deadline"
BODY = "requests_resharmonics._replay.body_requests"
HOOK = "requests_resharmonics._replay.hook"
FLOWS = "requests_resharmonics._replay.httpx_flows"

#: The modules whose docstrings list their reaches (hook.py's cookies are requests' own idiom).
DOCUMENTED = (CANCEL, DEADLINE, BODY, FLOWS)


@dataclass(frozen=True)
class Reach:
    """One private name, where it is used and why, and how to tell it still works."""

    library: str
    name: str  # as the module's docstring spells it
    module: str
    why: str
    check: Callable[[], None]


def _params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def _pool() -> HTTPConnectionPool:
    # Nothing connects: a pool opens its socket when a request is sent.
    return HTTPConnectionPool("127.0.0.1", 9, maxsize=1)


def _get_conn() -> None:
    assert _params(HTTPConnectionPool._get_conn)[:2] == ["self", "timeout"]
    pool = _pool()
    connection = pool._get_conn(None)
    assert isinstance(connection, HTTPConnection)
    assert hasattr(connection, "sock"), "a connection without .sock cannot be shut down"


def _put_conn() -> None:
    assert _params(HTTPConnectionPool._put_conn)[:2] == ["self", "conn"]
    pool = _pool()
    assert pool.pool is not None
    assert pool.pool.full(), "a new pool's queue should hold its placeholders"
    connection = pool._get_conn()
    assert not pool.pool.full()
    pool._put_conn(connection)
    assert pool.pool.full()


def _make_request() -> None:
    for pool in (HTTPConnectionPool, HTTPSConnectionPool):
        assert _params(pool._make_request)[:4] == ["self", "conn", "method", "url"]
    source = inspect.getsource(HTTPConnectionPool.urlopen)
    assert "self._make_request(" in source, "urlopen no longer sends through _make_request"


def _pool_classes() -> None:
    class Marked(HTTPConnectionPool):
        pass

    manager = urllib3.PoolManager()
    assert set(manager.pool_classes_by_scheme) == {"http", "https"}
    manager.pool_classes_by_scheme = {"http": Marked, "https": HTTPSConnectionPool}
    assert isinstance(manager.connection_from_url("http://127.0.0.1:9/"), Marked)


def _adapter_pool_settings() -> None:
    adapter = HTTPAdapter(pool_connections=3, pool_maxsize=4, pool_block=True)
    found = {
        name: getattr(adapter, name, "missing")
        for name in ("_pool_connections", "_pool_maxsize", "_pool_block")
    }
    assert found == {"_pool_connections": 3, "_pool_maxsize": 4, "_pool_block": True}, found


def _retry_class_swap() -> None:
    class Stoppable(Retry):
        def sleep(self, response: object = None) -> None:
            raise AssertionError("not slept in this check")

    assert _params(Retry.sleep)[:2] == ["self", "response"]
    for name in ("respect_retry_after_header", "get_retry_after", "get_backoff_time"):
        assert hasattr(Retry(), name), f"Retry has no {name}"
    retry = copy.copy(Retry(total=3, backoff_factor=0))
    retry.__class__ = Stoppable
    following = retry.increment(method="GET", url="/", error=ProtocolError("cut"))
    assert type(following) is Stoppable, "Retry.new no longer builds type(self)(...)"
    assert type(following.new()) is Stoppable


def _response_content() -> None:
    response = requests.Response()
    consumed = response._content_consumed  # type: ignore[attr-defined]
    fresh: tuple[object, object] = (response._content, consumed)
    assert fresh == (False, False), "a response not read yet"
    response.raw = io.BytesIO(b"not what was read")
    response._content = b"what was read"
    response._content_consumed = True  # type: ignore[attr-defined]
    assert response.content == b"what was read"
    assert b"".join(response.iter_content(4)) == b"what was read"


def _prepared_cookies() -> None:
    prepared = requests.Request("GET", "http://127.0.0.1/").prepare()
    assert isinstance(prepared._cookies, RequestsCookieJar)  # type: ignore[attr-defined]
    assert isinstance(prepared.copy()._cookies, RequestsCookieJar)  # type: ignore[attr-defined]


def _httpx_content(library: str) -> Callable[[], None]:
    def check() -> None:
        httpx = pytest.importorskip(library)
        response = httpx.Response(401, stream=httpx.ByteStream(b"never read"))
        with pytest.raises(httpx.ResponseNotRead):
            response.content  # noqa: B018
        response._content = b"what was read"
        assert response.content == b"what was read"

    return check


REACHES = [
    Reach(
        "urllib3",
        "HTTPConnectionPool._get_conn(timeout)",
        CANCEL,
        "overridden to refuse the requests of an export already cut",
        _get_conn,
    ),
    Reach(
        "urllib3",
        "HTTPConnectionPool._put_conn(conn)",
        DEADLINE,
        "overridden, with the pool's queue ``pool``, to close what a full pool cannot keep",
        _put_conn,
    ),
    Reach(
        "urllib3",
        "HTTPConnectionPool._make_request(conn, ...)",
        DEADLINE,
        "overridden to arm each attempt's deadline on its connection",
        _make_request,
    ),
    Reach(
        "urllib3",
        "pool_classes_by_scheme",
        DEADLINE,
        "set on the pool manager to use the watched pools (and cancel.py's tracked ones)",
        _pool_classes,
    ),
    Reach(
        "requests",
        "HTTPAdapter._pool_connections",
        CANCEL,
        "read with _pool_maxsize and _pool_block to copy an adapter's pool settings",
        _adapter_pool_settings,
    ),
    Reach(
        "urllib3",
        "Retry.new",
        CANCEL,
        "a Retry's __class__ is swapped for one whose back-off sleep a cut ends",
        _retry_class_swap,
    ),
    Reach(
        "requests",
        "Response._content and _content_consumed",
        BODY,
        "set to keep the bounded read of a 401's body as the response's content",
        _response_content,
    ),
    Reach(
        "requests",
        "PreparedRequest._cookies",
        HOOK,
        "read to carry a 401's cookies into the replay, as requests' own auth does",
        _prepared_cookies,
    ),
    *(
        Reach(
            library,
            f"Response._content ({library})",
            FLOWS,
            f"set to keep the bounded read of an {library} 401's body as its content",
            _httpx_content(library),
        )
        for library in ("httpx", "httpx2")
    ),
]


def _installed(library: str) -> str:
    try:
        return f"{library} {version(library)}"
    except Exception:
        return f"{library} (version unknown)"


@pytest.mark.parametrize("reach", REACHES, ids=lambda reach: reach.name)
def test_the_private_names_the_library_uses_are_still_there(reach: Reach) -> None:
    try:
        reach.check()
    except (AssertionError, AttributeError, TypeError, ValueError) as error:
        failure: BaseException | None = error
    else:
        failure = None
    if failure is not None:  # outside the except: the message alone, no chained traceback
        found = str(failure).splitlines()[0] if str(failure) else "no detail"
        pytest.fail(
            f"{_installed(reach.library)} has changed {reach.name}, which {reach.module} "
            f"relies on ({reach.why}): {type(failure).__name__}: {found}. Adapt that module "
            "(its docstring lists what it reaches) before allowing this version.",
            pytrace=False,
        )


@pytest.mark.parametrize("module", DOCUMENTED)
def test_each_module_lists_the_private_names_it_uses(module: str) -> None:
    found = importlib.import_module(module)
    docstrings = [found.__doc__ or ""] + [
        inspect.getdoc(value) or ""
        for value in vars(found).values()
        if (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == found.__name__
    ]
    said = " ".join(" ".join(docstrings).replace("``", "").split())  # wrapped lines joined
    for reach in REACHES:
        if reach.module == module:
            name = reach.name.partition("(")[0].strip()
            assert name in said, f"{module}'s docstrings do not name {name}"
