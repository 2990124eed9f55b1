"""An app bound to every address (0.0.0.0, as in a container) tells Asterisk where to connect:
FastAGI, AudioSocket and speech over http all go to the advertised address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI

from .test_voice_verbs import serve_once

CHOICES = ["book a table", "cancel my order", "talk to a person"]


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550190", vocabulary=["what would you like"]) as p:
        yield p


@pytest.fixture
def everywhere(asterisk: SandboxSettings) -> Iterator[None]:
    """AGI_SERVER_HOST=0.0.0.0, with the clients it needs; restored after the test."""
    delivery = config.TTS_DELIVERY
    config.AGI_SERVER_HOST = "0.0.0.0"
    config.AGI_ALLOWED_CLIENTS = "127.0.0.0/8"
    try:
        yield
    finally:
        for name in ("AGI_SERVER_HOST", "AGI_ALLOWED_CLIENTS", "ASTERAMISK_ADVERTISE_HOST"):
            delattr(config, name)
        config.TTS_DELIVERY = delivery


@pytest.mark.parametrize("advertise", ["", "127.0.0.2"])
async def test_an_app_bound_everywhere_is_reached_at_its_advertised_address(
    everywhere: None, phone: VirtualPhone, advertise: str, asterisk: SandboxSettings
) -> None:
    """Without ASTERAMISK_ADVERTISE_HOST Asterisk is told the address it sees the app at
    (127.0.0.1 here); with it, that address (127.0.0.2, which reaches the same bind only
    if the app really listens everywhere). The prompt is spoken over http and heard over
    AudioSocket, on a number served over FastAGI."""
    if advertise:
        config.ASTERAMISK_ADVERTISE_HOST = advertise
    config.TTS_DELIVERY = "http"

    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        return await ui.prompt("What would you like?", phrases=CHOICES, timeout=10)

    async with Server(port=0) as server:
        assert server.speech is not None
        expected = advertise or "127.0.0.1"
        assert server.speech.media_url.startswith(f"http://{expected}:")
        result = await serve_once(server, phone, "agi", "2901", handler)
        async with AMIClient() as ami:
            shown = await ami.command(f"dialplan show 2901@{asterisk.call_context}")
        assert f"agi,1(agi://{expected}:{server.port}/call,2901," in shown
        call = await phone.call("2901")
        assert await call.hear(timeout=10) == "what would you like"
        await call.say("cancel my order")
        assert await asyncio.wait_for(result, 15) == "cancel my order"
