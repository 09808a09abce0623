"""A hostile client finds no 5xx: arbitrary bodies and parameters for every operation.

Hypothesis sends, to each operation the document lists, its example body with any field
replaced by arbitrary JSON (huge numbers, deep lists, text where an object belongs...),
whole arbitrary JSON documents, and arbitrary text for every declared query parameter.
The fake may refuse any of them; it must never fail (5xx) or drop the connection.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", " ", "2026-12-01", "2026-02-30", "T", "CONFIRMED", "0.001", "-1"])
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeResharmonics]:
    with FakeResharmonics() as server:
        yield server


@pytest.fixture(scope="module")
def api(fake: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake.session() as session:
        yield session


@pytest.fixture(scope="module")
def spec(api: ResharmonicsSession) -> dict[str, Any]:
    document: dict[str, Any] = api.get("/v3/api-docs").json()
    return document


def _bodies(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if "requestBody" in operation:
                found.append((method.upper(), path, operation))
    return found


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    changed = copy.deepcopy(value)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return changed


def _send(api: ResharmonicsSession, method: str, path: str, operation: dict[str, Any],
          body: bytes, ids: str = "1") -> int:  # fmt: skip
    query = {
        p["name"]: "ops" for p in operation["parameters"] if p["in"] == "query" and p["required"]
    }
    url = re.sub(r"{\w+}", ids, path)
    headers = {"Content-Type": "application/json"}
    response = api.request(method, url, params=query, data=body, headers=headers)
    assert response.status_code < 500, (method, url, body[:300], response.text)
    return response.status_code


@SETTINGS
@given(data=st.data())
def test_a_field_replaced_by_anything_is_never_a_5xx(
    api: ResharmonicsSession, spec: dict[str, Any], data: st.DataObject
) -> None:
    method, path, operation = data.draw(st.sampled_from(_bodies(spec)))
    example = operation["requestBody"]["content"]["application/json"]["example"]
    where = data.draw(st.sampled_from(list(_leaves(example))))
    body = _replace(example, where, data.draw(documents))
    ids = data.draw(st.sampled_from(["1", "20001", "30001", "90001", "5001", "x", str(2**70)]))
    _send(api, method, path, operation, json.dumps(body).encode(), ids)


@SETTINGS
@given(data=st.data(), body=documents)
def test_any_json_document_is_never_a_5xx(
    api: ResharmonicsSession, spec: dict[str, Any], data: st.DataObject, body: Any
) -> None:
    method, path, operation = data.draw(st.sampled_from(_bodies(spec)))
    _send(api, method, path, operation, json.dumps(body).encode(), "20001")


@SETTINGS
@given(data=st.data())
def test_any_query_parameter_value_is_never_a_5xx(
    api: ResharmonicsSession, spec: dict[str, Any], data: st.DataObject
) -> None:
    gets = [(path, methods["get"]) for path, methods in spec["paths"].items() if "get" in methods]
    path, operation = data.draw(st.sampled_from(gets))
    params = {
        p["name"]: data.draw(
            st.text(max_size=20) | st.sampled_from(["2026-12-01", "-5", "9" * 25, "true", "A,B"])
        )
        for p in operation["parameters"]
        if p["in"] == "query" and (p["required"] or data.draw(st.booleans()))
    }
    url = re.sub(r"{\w+}", data.draw(st.sampled_from(["1001", "30001", "x", "-1"])), path)
    response = api.get(url, params=params)
    assert response.status_code < 500, (url, params, response.text)
