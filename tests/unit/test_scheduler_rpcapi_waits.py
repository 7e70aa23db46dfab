"""The super conductor waits for select_destinations as Nova's does: up to long_rpc_timeout
(1,800 s) while the scheduler's heartbeat (the call monitor, rpc_response_timeout) keeps coming,
so a scheduler slowed by placement is waited for and a dead one is not."""

from __future__ import annotations

from typing import Any

import pytest

from altsim.conf import make_conf
from scheduler import rpcapi
from scheduler.rpcapi import SchedulerAPI


class _Prepared:
    def __init__(self, seen: dict[str, Any]) -> None:
        self._seen = seen

    def call(self, ctxt: dict, method: str, **kwargs: Any) -> list:
        self._seen["method"] = method
        return []


class _Client:
    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def prepare(self, **kwargs: Any) -> _Prepared:
        self.seen.update(kwargs)
        return _Prepared(self.seen)


@pytest.fixture
def client(monkeypatch) -> _Client:
    made = _Client()
    monkeypatch.setattr(rpcapi.rpc, "make_client", lambda *args: made)
    return made


def _call(api: SchedulerAPI) -> None:
    api.select_destinations({}, object(), ["uuid-1"])  # type: ignore[arg-type]


def test_nova_defaults_long_rpc_timeout_with_a_call_monitor(client: _Client) -> None:
    _call(SchedulerAPI(transport=None))  # type: ignore[arg-type]
    assert client.seen == {"timeout": 1800.0, "call_monitor_timeout": 60.0,
                           "method": "select_destinations"}


def test_the_super_conductor_takes_both_from_its_config(monkeypatch) -> None:
    from conductor import service

    made: list[tuple[Any, ...]] = []
    monkeypatch.setattr(rpcapi, "SchedulerAPI", lambda *args: made.append(args[1:]))
    monkeypatch.setattr(service.rpc, "Notifier", lambda *args: None)
    monkeypatch.setattr(service.rpc, "make_server", lambda *args: "server")
    monkeypatch.setattr(service.wiring, "schedule_and_build", lambda *args: None)
    conf = make_conf()
    conf([])
    assert (conf.long_rpc_timeout, conf.rpc_response_timeout) == (1800, 60)  # Nova's
    conf.set_override("long_rpc_timeout", 120)
    conf.set_override("rpc_response_timeout", 7)
    assert service.build_super_conductor_server(conf, None, None, None, {}, None, None,
                                                None) == "server"  # type: ignore[arg-type]
    assert made == [(120, 7)]


def test_without_a_call_monitor_the_timeout_alone_bounds_the_wait(client: _Client) -> None:
    _call(SchedulerAPI(None, timeout=2, call_monitor_timeout=None))  # type: ignore[arg-type]
    assert (client.seen["timeout"], client.seen["call_monitor_timeout"]) == (2, None)
