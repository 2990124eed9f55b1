"""ARIControl's playbacks over a fake ARI connection: the cases a real Asterisk gives only by
a race (a playback accepted but never started) are driven here by hand."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from asteramisk.asterisk import ari_playback
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import PlaybackError
from asteramisk.media.audio_server import AudioSocketServer


class FakeARI:
    """Accepts every request and records it; sends no event unless the test does."""

    app = "asteramisk-test"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.played = asyncio.Event()

    async def request(self, resource: str, operation: str, **params: Any) -> Any:
        self.requests.append((resource, operation, params))
        if operation == "play":
            self.played.set()
            return {"id": params["playbackId"], "state": "queued"}
        if (resource, operation) == ("playbacks", "get"):
            return SimpleNamespace(json={"id": params["playbackId"], "state": "playing"})
        return {}

    async def lookup(self, resource: str, operation: str, **params: Any) -> Any:
        return await self.request(resource, operation, **params)

    async def cleanup(
        self, resource: str, operation: str, *, after: Any = None, **params: Any
    ) -> None:
        await self.request(resource, operation, **params)


def control_over(ari: FakeARI) -> ARIControl:
    return ARIControl(
        cast(ARIClient, ari),
        "caller-1",
        "PJSIP/pstn",
        router=StasisRouter(),
        audio=AudioSocketServer(),
    )


def playback_event(kind: str, ari: FakeARI) -> dict[str, Any]:
    playback_id = next(p["playbackId"] for _, op, p in ari.requests if op == "play")
    return {"type": kind, "playback": {"id": playback_id, "target_uri": "channel:caller-1"}}


async def test_a_playback_that_never_starts_raises_and_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ari_playback, "PLAYBACK_START_TIMEOUT", 0.2)
    ari = FakeARI()
    control = control_over(ari)
    with pytest.raises(PlaybackError, match="did not start playing it") as raised:
        await asyncio.wait_for(control.play("hello-world"), 5)
    assert raised.value.sound == "sound:hello-world"
    assert ("playbacks", "stop") in [(r, op) for r, op, _ in ari.requests]


async def test_a_started_playback_may_last_longer_than_the_start_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ari_playback, "PLAYBACK_START_TIMEOUT", 0.2)
    ari = FakeARI()
    control = control_over(ari)
    playing = asyncio.ensure_future(control.play("hello-world"))
    await ari.played.wait()
    control.on_event(playback_event("PlaybackStarted", ari))
    await asyncio.sleep(0.5)  # past the start limit, still playing
    assert not playing.done()
    control.on_event(playback_event("PlaybackFinished", ari))
    assert await asyncio.wait_for(playing, 5) is None
    assert ("playbacks", "stop") not in [(r, op) for r, op, _ in ari.requests]


async def test_a_start_lost_in_an_ari_outage_is_learnt_by_reconcile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The PlaybackStarted event fell in an outage: reconcile asks Asterisk, which says the
    playback is playing, and the start limit no longer applies."""
    monkeypatch.setattr(ari_playback, "PLAYBACK_START_TIMEOUT", 0.3)
    ari = FakeARI()
    control = control_over(ari)
    playing = asyncio.ensure_future(control.play("hello-world"))
    await ari.played.wait()
    await control.reconcile()
    await asyncio.sleep(0.6)
    assert not playing.done()
    control.on_event(playback_event("PlaybackFinished", ari))
    assert await asyncio.wait_for(playing, 5) is None
