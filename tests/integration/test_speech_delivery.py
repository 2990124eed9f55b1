"""TTS_DELIVERY against a real Asterisk: the probe, ``auto`` choosing file or http by what
Asterisk can read, ``file`` refusing a directory Asterisk does not read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.sound_probe import FAMILY, STALE_AFTER, sound_plays
from asteramisk.config import config
from asteramisk.exceptions import ConfigurationError
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550191", vocabulary="thank you for calling".split()) as p:
        yield p


@pytest.fixture
def unshared_cache(asterisk: SandboxSettings, tmp_path: Path) -> Iterator[Path]:
    """TTS_CACHE_DIR on this machine only: Asterisk, in its own root, cannot read it (as an
    Asterisk on another host cannot)."""
    config.TTS_CACHE_DIR = str(tmp_path)
    try:
        yield tmp_path
    finally:
        config.TTS_CACHE_DIR = asterisk.env()["TTS_CACHE_DIR"]
        del config.TTS_DELIVERY


async def test_asterisk_says_whether_it_plays_a_sound_and_nothing_is_left(
    asterisk: SandboxSettings,
) -> None:
    async with AMIClient() as ami:
        started = time.monotonic()
        assert await sound_plays(ami, "hello-world") is True  # Asterisk's own sound
        took = time.monotonic() - started
        assert await sound_plays(ami, "/var/lib/asteramisk-not-here/hello") is False
        assert await sound_plays(ami, "http://127.0.0.1:9/nothing-listens.wav") is False
        assert "asteramisk-probe-" not in await ami.command("dialplan show")
        assert await probe_keys(ami) == []
    # hello-world lasts 1.4 s: it was really played, not just looked up
    assert took > 1.0


async def test_a_probe_cut_short_leaves_nothing_and_the_next_removes_what_a_killed_app_left(
    asterisk: SandboxSettings,
) -> None:
    async with AMIClient() as ami:
        # what an app killed in mid-probe leaves behind (Asterisk's database outlives it)
        stale = f"{int(time.time() - STALE_AFTER - 5)}-0123456789ab"
        await ami.action({"Action": "DBPut", "Family": FAMILY, "Key": stale, "Val": "SUCCESS"})
        probe = asyncio.create_task(sound_plays(ami, "demo-congrats"))  # 50 s long
        await asyncio.sleep(1.5)
        assert "asteramisk-probe-" in await ami.command("core show channels concise")
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        for _ in range(50):  # hung up: gone at once, not when its 11 s Wait ends
            if "asteramisk-probe-" not in await ami.command("core show channels concise"):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the cancelled probe's call is still up after 5 s")
        assert "asteramisk-probe-" not in await ami.command("dialplan show")
        assert await probe_keys(ami) == []


async def probe_keys(ami: AMIClient) -> list[str]:
    """The keys of Asterisk's database the probe uses."""
    events = await ami.action({"Action": "DBGetTree", "Family": FAMILY}, as_list=True)
    return [str(event["Key"]) for event in events if "Key" in event]


async def test_auto_finds_whether_asterisk_reads_the_sounds_directory(
    asterisk: SandboxSettings,
) -> None:
    """The sandbox's configuration: TTS_CACHE_DIR is Asterisk's sounds directory, seen from
    here. The remote sandbox's: none at all, and Asterisk cannot read this machine's disk."""
    assert config.TTS_DELIVERY == "auto"
    async with Server(port=0) as server:
        assert server.speech is not None
        if asterisk.app_host:
            assert server.speech.delivery == "http"
            assert server.speech.media_url.startswith(f"http://{asterisk.app_host}:")
        else:
            assert server.speech.delivery == "file"
            assert server.speech.media_url == ""


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_auto_serves_speech_over_http_to_an_asterisk_that_does_not_share_our_disk(
    unshared_cache: Path, phone: VirtualPhone, transport: str
) -> None:
    """No TTS setting at all (the README's configuration), the cache where Asterisk cannot
    read it: the caller hears the app all the same."""
    async with Server(port=0) as server:
        assert server.speech is not None
        assert server.speech.delivery == "http"

        async def handler(ui: VoiceUI) -> None:
            await ui.answer()
            await ui.say("Thank you for calling.")
            await ui.hangup()

        await server.register_extension("2109", call_handler=handler, transport=transport)
        call = await phone.call("2109")
        assert await call.hear(timeout=15) == "thank you for calling"
        await call.wait_hangup(10)
    assert list(unshared_cache.glob("tts-*.wav"))  # noqa: ASYNC240 (served from here)
    assert not list(unshared_cache.glob("probe-*"))  # noqa: ASYNC240 (the probe is gone)


async def test_file_refuses_to_start_when_asterisk_cannot_read_the_directory(
    unshared_cache: Path,
) -> None:
    config.TTS_DELIVERY = "file"
    server = Server(port=0)
    with pytest.raises(ConfigurationError) as info:
        await server.start()
    assert str(unshared_cache) in str(info.value)
    assert "TTS_CACHE_DIR" in str(info.value)
    await server.close()
