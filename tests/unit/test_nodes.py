"""Several Asterisk servers behind one app (asteramisk.nodes), the rotation's dialplan
(asteramisk.asterisk.rotation) and ASTERISK_HOSTS."""

from __future__ import annotations

import asyncio

import pytest

from asteramisk import nodes as nodes_module
from asteramisk.asterisk import rotation
from asteramisk.config import Config
from asteramisk.exceptions import AsteriskConnectionError, ConfigurationError
from asteramisk.nodes import Nodes


class Member:
    def __init__(self, host: str) -> None:
        self.host = host
        self.connected = True
        self.closed = False
        self.fail = False
        self.done: list[str] = []

    async def close(self) -> None:
        self.closed = True

    async def act(self, what: str) -> str:
        if self.fail:
            raise AsteriskConnectionError(f"{self.host} is down")
        self.done.append(what)
        return self.host


async def test_members_are_used_in_turn_and_the_next_one_when_one_fails() -> None:
    made = {host: Member(host) for host in ("a", "b", "c")}

    async def make(host: str, index: int) -> Member:
        return made[host]

    group: Nodes[Member] = Nodes(["a", "b", "c"], make)
    await group.start()
    assert [await group.in_turn(lambda m: m.act("x")) for _ in range(3)] == ["a", "b", "c"]
    made["b"].fail = True
    assert [await group.in_turn(lambda m: m.act("y")) for _ in range(3)] == ["a", "c", "c"]
    made["c"].connected = False  # known to be down: tried last
    assert await group.in_turn(lambda m: m.act("z")) == "a"
    await group.close()
    assert all(member.closed for member in made.values())


async def test_a_host_that_does_not_answer_at_start_joins_when_it_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nodes_module, "RETRY", 0.01)
    attempts = {"b": 0}
    joined: list[str] = []

    async def make(host: str, index: int) -> Member:
        if host == "b":
            attempts["b"] += 1
            if attempts["b"] < 3:
                raise AsteriskConnectionError("refused")
        return Member(host)

    async def on_join(member: Member) -> None:
        joined.append(member.host)

    group: Nodes[Member] = Nodes(["a", "b"], make, on_join)
    await group.start()
    assert list(group.members) == ["a"]
    for _ in range(200):
        if "b" in group.members:
            break
        await asyncio.sleep(0.01)
    assert list(group.members) == ["a", "b"] and joined == ["b"]
    await group.close()


async def test_no_host_answering_or_a_configuration_error_fails_the_start() -> None:
    async def refused(host: str, index: int) -> Member:
        raise AsteriskConnectionError(f"{host} refused")

    with pytest.raises(AsteriskConnectionError, match="a refused"):
        await Nodes(["a", "b"], refused).start()

    async def misconfigured(host: str, index: int) -> Member:
        if host == "b":
            raise ConfigurationError("bad password")
        return Member(host)

    with pytest.raises(ConfigurationError, match="bad password"):
        await Nodes(["a", "b"], misconfigured).start()
    with pytest.raises(ValueError, match="twice"):
        Nodes(["a", "a"], misconfigured)


def test_asterisk_hosts_is_a_list_and_asterisk_host_serves_alone() -> None:
    config = Config()
    assert config.snapshot().asterisk_hosts() == ("127.0.0.1",)
    config.ASTERISK_HOSTS = "10.0.0.1, 10.0.0.2"
    settings = config.snapshot()
    assert settings.asterisk_hosts() == ("10.0.0.1", "10.0.0.2")
    assert settings.replace(ASTERISK_HOST="10.0.0.2").ASTERISK_HOST == "10.0.0.2"
    config.ASTERISK_HOSTS = "10.0.0.1,bad host"
    with pytest.raises(ConfigurationError, match="ASTERISK_HOSTS is malformed"):
        config.snapshot().asterisk_hosts()


def test_an_entry_says_what_it_runs() -> None:
    stasis = rotation.entry_data("asteramisk-1a2b", "stasis", "asteramisk-1a2b,2999")
    agi = rotation.entry_data("asteramisk-1a2b", "agi", "agi://10.0.0.9:4753/call,2999")
    assert rotation.inner("ExecIf", stasis) == ("Stasis", "asteramisk-1a2b,2999")
    assert rotation.inner("ExecIf", agi) == ("AGI", "agi://10.0.0.9:4753/call,2999")
    assert rotation.inner("Stasis", "app,2999") == ("Stasis", "app,2999")
    assert "GROUP_COUNT(asteramisk-1a2b@asteramisk)" in stasis


def test_a_text_entry_says_what_it_runs_and_calls_walk_past_it() -> None:
    text = rotation.text_entry_data("AGI(agi://10.0.0.9:4753/text,2999)")
    assert rotation.inner("ExecIf", text) == ("AGI", "agi://10.0.0.9:4753/text,2999")
    assert '$[!("${CHANNEL(channeltype)}" != "Message")]?AGI(' in text
    assert f"DIALPLAN_EXISTS({rotation.markers('from-pstn')}" not in text  # it is per context
    assert "DIALPLAN_EXISTS(asteramisk-walk-${CONTEXT}," in text
