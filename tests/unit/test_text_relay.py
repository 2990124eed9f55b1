"""How a host hands a text to the host holding its conversation (asteramisk.text_relay),
against a fake Redis: to a live holder, over from a gone one, and without Redis."""

from __future__ import annotations

import json
from typing import Any

import pytest

from asteramisk.text_relay import TextRelay


class FakeRedis:
    def __init__(self, listeners: int = 1) -> None:
        self.keys: dict[str, bytes] = {}
        self.listeners = listeners
        self.published: list[tuple[str, dict[str, str]]] = []
        self.down = False

    async def get(self, key: str) -> bytes | None:
        if self.down:
            raise ConnectionError("Error 111 connecting to 10.0.0.20:6379. Connection refused.")
        return self.keys.get(key)

    async def publish(self, channel: str, message: str) -> int:
        self.published.append((channel, json.loads(message)))
        return self.listeners

    async def eval(self, script: str, count: int, key: str, *args: Any) -> int:
        if "SET" in script and self.keys.get(key) in (args[0], None):
            self.keys[key] = str(args[1]).encode()
            return 1
        return 0


def relay(fake: FakeRedis) -> TextRelay:
    return TextRelay("redis://:yourredispassword@10.0.0.20:6379/0", client=fake)


async def test_a_text_goes_to_the_live_host_that_holds_its_conversation() -> None:
    fake = FakeRedis(listeners=1)
    fake.keys["asteramisk:conversation:5551000:7000001"] = b"otherhost"
    here = relay(fake)
    assert await here.hand_over("5551000", "7000001", "yes") is True
    assert fake.published == [
        ("asteramisk:host:otherhost", {"ours": "5551000", "theirs": "7000001", "body": "yes"})
    ]
    assert here.handed == 1


async def test_no_holder_or_this_host_means_start_it_here() -> None:
    fake = FakeRedis()
    here = relay(fake)
    assert await here.hand_over("5551000", "7000002", "hello") is False
    fake.keys["asteramisk:conversation:5551000:7000002"] = here.host_id.encode()
    assert await here.hand_over("5551000", "7000002", "hello") is False
    assert fake.published == []


async def test_a_gone_holder_is_taken_over(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRedis(listeners=0)  # nobody listens on the holder's channel: it is gone
    key = "asteramisk:conversation:5551000:7000003"
    fake.keys[key] = b"deadhost"
    here = relay(fake)
    assert await here.hand_over("5551000", "7000003", "I am back") is False
    assert fake.keys[key] == here.host_id.encode()
    assert "is gone: it starts anew here" in caplog.text


async def test_without_redis_the_text_is_handled_here_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeRedis()
    fake.down = True
    assert await relay(fake).hand_over("5551000", "7000004", "hi") is False
    assert "10.0.0.20:6379 cannot be reached" in caplog.text
    assert "yourredispassword" not in caplog.text  # the URL's password is never logged
