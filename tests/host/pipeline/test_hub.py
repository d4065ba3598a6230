"""The live hub never blocks the publisher."""

from __future__ import annotations

import asyncio

import pytest

from host.errors import ConfigError
from host.pipeline.hub import LiveHub


async def test_every_subscriber_gets_every_message_in_order() -> None:
    hub = LiveHub()
    a, b = hub.subscribe(), hub.subscribe()
    for i in range(5):
        hub.publish("status", {"i": i})
    a.close()
    got = [m.payload["i"] async for m in a]
    assert got == [0, 1, 2, 3, 4]
    assert hub.n_subscribers == 1
    assert (await anext(b)).payload == {"i": 0}
    assert hub.latest["status"].payload == {"i": 4}


async def test_a_slow_subscriber_loses_its_oldest_messages_only() -> None:
    hub = LiveHub(maxlen=3)
    slow = hub.subscribe()
    for i in range(10):
        hub.publish("status", {"i": i})
    assert slow.dropped == 7
    slow.close()
    assert [m.payload["i"] async for m in slow] == [7, 8, 9]


async def test_waiting_subscriber_wakes_on_publish() -> None:
    hub = LiveHub()
    with hub.subscribe() as sub:
        task = asyncio.create_task(anext(sub))
        await asyncio.sleep(0)
        hub.publish("episode", {"kind": "tonic"})
        message = await asyncio.wait_for(task, 1.0)
    assert message.topic == "episode"
    assert hub.n_subscribers == 0


def test_bad_buffer_length() -> None:
    with pytest.raises(ConfigError, match="maxlen must be at least 1"):
        LiveHub(maxlen=0)


async def test_signal_topics_reach_only_the_subscribers_that_ask_for_them() -> None:
    hub = LiveHub()
    events = hub.subscribe()
    assert hub.wants("status")
    assert not hub.wants("emg")
    scope = hub.subscribe(signals=["emg"])
    assert hub.wants("emg")
    assert not hub.wants("accel")
    hub.publish("emg", {"i": 0})
    hub.publish("accel", {"i": 1})
    hub.publish("status", {"i": 2})
    events.close()
    scope.close()
    assert [m.topic async for m in events] == ["status"]
    assert [m.topic async for m in scope] == ["emg", "status"]
    assert "emg" not in hub.latest
    assert not hub.wants("emg")


def test_unknown_signal_topic() -> None:
    with pytest.raises(ConfigError, match=r"unknown signal topic.*'volts'"):
        LiveHub().subscribe(signals=["volts"])
