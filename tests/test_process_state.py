"""What the auth objects of a process share is one object, replaced whole (fork, fresh start)."""

from __future__ import annotations

import ast
import os
import pickle
import threading
from pathlib import Path

import pytest

import requests_resharmonics
from requests_resharmonics import (
    ConfigurationError,
    MemoryTokenCache,
    process_stats,
    set_renewal_workers,
    set_token_connections,
)
from requests_resharmonics._tokens import process
from requests_resharmonics._tokens.endpoint import TokenEndpoint
from requests_resharmonics._tokens.manager import TokenManager
from requests_resharmonics.cache import base, memory
from requests_resharmonics.testing import FakeResharmonics

from .test_background import wait_for

PACKAGE = Path(requests_resharmonics.__file__).parent


def calls_of(module: str, function: str) -> list[str]:
    """Return the package's modules calling ``module.function(...)``, once per call."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == function
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == module
            ):
                found.append(str(path.relative_to(PACKAGE)))
    return found


def test_one_fork_hook_and_one_exit_hook_for_the_whole_package() -> None:
    assert calls_of("os", "register_at_fork") == ["_tokens/process.py"]
    assert calls_of("atexit", "register") == ["_tokens/process.py"]


def test_the_public_setters_are_defined_under_their_public_names() -> None:
    for function in (process_stats, set_renewal_workers, set_token_connections):
        assert function.__module__ == "requests_resharmonics._tokens.process"
        assert getattr(requests_resharmonics, function.__name__) is function
    with pytest.raises(ConfigurationError, match="renewal workers"):
        set_renewal_workers(0)
    with pytest.raises(ConfigurationError, match="token connections"):
        set_token_connections(True)
    set_renewal_workers(3)
    set_token_connections(2)
    state = process.current()
    assert (state.renewals.max_workers, state.token_sessions.max_connections) == (3, 2)
    # A fresh start goes back to the defaults: a test's settings do not outlive it.
    fresh = process.start_afresh()
    assert (fresh.renewals.max_workers, fresh.token_sessions.max_connections) == (4, 8)


def test_the_memory_cache_keeps_its_tokens_in_the_process_state() -> None:
    assert base.MemoryTokenCache is memory.MemoryTokenCache is MemoryTokenCache
    cache = MemoryTokenCache()
    cache.set("key", "v1:id:payload", None)
    assert process.current().memory_cache.values == {"key": "v1:id:payload"}
    assert pickle.loads(pickle.dumps(cache)).get("key") == "v1:id:payload"
    process.start_afresh()
    assert cache.get("key") is None  # a fresh start: the store of another process
    with cache.lock("key", 1.0) as acquired:
        assert acquired
        assert "key" in process.current().memory_cache.locks


def test_a_fresh_start_leaves_nothing_of_the_old_state_running(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = fake_resharmonics.auth()
    auth.valid_token()
    old = process.current()
    assert old.token_sessions.open_pools() == 1
    old.pauses.begin(auth._manager.key, "rejected-token")
    release = threading.Event()
    started = threading.Event()

    def hanging() -> None:
        started.set()
        release.wait(30)

    assert old.renewals.start("running", hanging)
    assert started.wait(10)
    assert old.renewals.start("queued-behind-a-retry", lambda: 5.0)  # will wait to run again
    wait_for(lambda: old.renewals.later)

    new = process.start_afresh()
    assert new is process.current() and new is not old
    assert old.token_sessions.open_pools() == 0  # its connections are closed
    assert not old.renewals.is_running("queued-behind-a-retry")  # dropped, not run again
    assert not old.renewals.start("another", lambda: None)  # it takes no new work
    assert not old.close(wait=0.05)  # the running one is still running...
    release.set()
    assert old.close(wait=10)  # ...and ends on its own
    assert not old.renewals.is_running("running")
    # Nothing of it in the new state: no pause, no pool, no connections, no stats.
    assert not new.pauses.backing_off(auth._manager.key)
    assert new.token_sessions.open_pools() == 0
    assert process_stats().token_requests == 0
    # A new auth object of the same client meets the new state: a token of its own.
    assert fake_resharmonics.auth().valid_token() != auth.token
    assert fake_resharmonics.token_requests == 2
    # The old object keeps its state: its token, its stats.
    assert auth._manager.process is old and auth.stats.token_requests == 1


def test_auth_objects_of_a_test_share_as_in_any_process(
    fake_resharmonics: FakeResharmonics,
) -> None:
    first, second = fake_resharmonics.auth(), fake_resharmonics.auth()
    assert first._manager.process is second._manager.process is process.current()
    assert first.valid_token() == second.valid_token()  # the memory cache, shared
    assert fake_resharmonics.token_requests == 1
    assert process.current().token_sessions.open_pools() == 1  # one session for both
    assert process_stats().token_requests == 1


def test_a_state_of_its_own_for_one_client(fake_resharmonics: FakeResharmonics) -> None:
    state = process.ProcessState(renewal_workers=1)
    endpoint = TokenEndpoint(
        fake_resharmonics.token_url,
        fake_resharmonics.client_id,
        fake_resharmonics.client_secret,
        process=state,
    )
    manager = TokenManager(endpoint)
    try:
        assert manager.process is state
        manager.valid_token()
        assert state.stats.snapshot().token_requests == 1
        assert state.token_sessions.open_pools() == 1
        assert process_stats().token_requests == 0  # the current state saw nothing
        assert process.current().token_sessions.open_pools() == 0
        assert manager in set(state.managers)
    finally:
        endpoint.close()
        state.close()


def test_a_pickled_manager_lands_in_the_state_where_it_is_loaded(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = fake_resharmonics.auth()
    auth.valid_token()
    clone_bytes = pickle.dumps(auth)
    fresh = process.start_afresh()
    clone = pickle.loads(clone_bytes)
    assert clone._manager.process is fresh
    assert clone._manager.endpoint.process is fresh
    assert clone.stats.token_requests == 0
    clone.fetch_token()
    assert (clone.stats.token_requests, process_stats().token_requests) == (1, 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_state_of_its_own_with_what_it_can_use(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = fake_resharmonics.auth()
    token = auth.valid_token()
    parent = process.current()
    parent.pauses.begin("paused-client", "a-rejected-token")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            child = process.current()
            checks = {
                "new state": child is not parent,
                "manager moved": auth._manager.process is child,
                "endpoint moved": auth._manager.endpoint.process is child,
                "no connections": child.token_sessions.open_pools() == 0,
                "no workers": child.renewals.workers == 0,
                "watchdog idle": not child.watchdog.running(),
                "pause kept": child.pauses.active("paused-client"),
                "stats kept": process_stats().token_requests == 1,
                "own stats lock": child.stats_lock is not parent.stats_lock,
                "token cached": MemoryTokenCache().get(auth._manager.key) is not None,
                "plug-ins kept": child.plugins.listeners == parent.plugins.listeners,
                "fetches": auth.fetch_token() != token,
            }
            os.write(writer, repr(sorted(k for k, ok in checks.items() if not ok)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(reader, "rb") as pipe:
        failed = pipe.read().decode()
    assert os.WEXITSTATUS(status) == 0
    assert failed == "[]"
    assert process.current() is parent and auth._manager.process is parent
