"""A call handed to a realtime (speech-to-speech) agent: the SDK's ``RealtimeRunner``.

The caller's audio streams from the call (AudioSocket, 8 kHz) to the model, resampled to the
24 kHz 16-bit PCM the realtime models take; the model's audio comes back resampled to 8 kHz and
is paced into the call in 20 ms frames. The model decides when the caller has finished (its own
turn detection) and its tools run in this process as in cascade mode. When the caller speaks
over the agent, what is queued to play is dropped at once (this process hears it first, so the
caller is not talked over while the model's own detection catches up) and the model is told to
stop; audio still arriving for the cut reply is dropped too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from agents import Agent
from agents.realtime import (
    RealtimeAgent,
    RealtimeAudio,
    RealtimeAudioEnd,
    RealtimeAudioInterrupted,
    RealtimeError,
    RealtimeHistoryAdded,
    RealtimeHistoryUpdated,
    RealtimeModelConfig,
    RealtimeRunner,
    RealtimeSession,
    RealtimeSessionModelSettings,
    RealtimeToolEnd,
)

from asteramisk.agent.session import AgentOptions, AgentSession, end_call_for_agent, run_session
from asteramisk.events import CallRecord
from asteramisk.exceptions import HangupException
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import RATE
from asteramisk.media.resample import Resampler
from asteramisk.ui.audio import CallAudio

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["MODEL_RATE", "realtime_agent", "run_realtime"]

log = logging.getLogger(__name__)

MODEL_RATE = 24000
"""The realtime models' PCM rate."""
ENDING_GRACE = 5.0
"""Seconds to wait for the agent's last words after it ended the conversation."""


def realtime_agent(agent: Agent[Any] | RealtimeAgent[Any]) -> RealtimeAgent[Any]:
    """``agent`` as a :class:`~agents.realtime.RealtimeAgent` (an ``Agent``'s name,
    instructions, tools and handoffs carried over)."""
    if isinstance(agent, RealtimeAgent):
        return agent
    if not isinstance(agent.instructions, str | None):
        raise TypeError(
            "mode='realtime' needs an agent whose instructions are a string (or a "
            "RealtimeAgent): dynamic instructions of an Agent cannot be carried over."
        )
    return RealtimeAgent(
        name=agent.name,
        instructions=agent.instructions,
        tools=list(agent.tools),
        handoffs=[h for h in agent.handoffs if isinstance(h, RealtimeAgent)],
    )


async def run_realtime(
    ui: VoiceUI, agent: Agent[Any] | RealtimeAgent[Any], options: AgentOptions
) -> AgentSession:
    """Connect the call on ``ui`` to ``agent`` until either side ends the conversation."""

    async def converse(session: AgentSession) -> None:
        await _converse(session, ui, agent, options)

    return await run_session(ui, converse)


async def _converse(
    session: AgentSession,
    ui: VoiceUI,
    agent: Agent[Any] | RealtimeAgent[Any],
    options: AgentOptions,
) -> None:
    if options.greeting:
        session.transcript.append(("agent", options.greeting))
        await ui.say(options.greeting)
    stream = await ui.audio.stream()
    await ui.audio.carry_stream_audio()
    settings: RealtimeSessionModelSettings = {
        "input_audio_format": "pcm16",  # 24 kHz, 16-bit, mono
        "output_audio_format": "pcm16",
        **(options.realtime_settings or {}),
    }
    runner = RealtimeRunner(
        realtime_agent(agent), model=options.realtime_model, config=options.realtime_config
    )
    config: RealtimeModelConfig = {"initial_model_settings": settings}
    rt = await runner.run(context=options.context, model_config=config)
    call = _RealtimeCall(session, ui.audio, stream, rt)
    async with rt:
        await call.run()
    if call.ended_by_agent:
        await end_call_for_agent(session, ui)
        return
    if stream.closed.is_set():
        raise HangupException("the caller hung up")
    # The model's session ended first (its connection closed): the call is the app's again.
    log.warning("The realtime session ended while the caller was still on the line")
    session.ended_by = "model"


class _RealtimeCall:
    """The two directions of one realtime call, and how it ends."""

    def __init__(
        self, session: AgentSession, audio: CallAudio, stream: AudioStream, rt: RealtimeSession
    ) -> None:
        self.session, self.audio, self.stream, self.rt = session, audio, stream, rt
        self.ended_by_agent = False
        self._playing_item = ""
        self._cut_items: set[str] = set()
        self._down = Resampler(MODEL_RATE, RATE)
        self._reply_started_at = 0.0
        self._agent_ended = asyncio.Event()
        self._last_words_done = asyncio.Event()
        self._history: list[Any] = []

    async def run(self) -> None:
        uplink = asyncio.ensure_future(self._uplink())
        downlink = asyncio.ensure_future(self._downlink())
        barge_in = asyncio.ensure_future(self._barge_in())
        closed = asyncio.ensure_future(self.stream.closed.wait())
        ending = asyncio.ensure_future(self._until_ended())
        tasks = {uplink, downlink, barge_in, closed, ending}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done & {uplink, downlink, barge_in}:
                task.result()  # an error of the SDK or the stream surfaces here
            self.ended_by_agent = ending in done
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.stream.untap()
            self._transcript()

    # -- caller -> model ---------------------------------------------------------------------

    async def _uplink(self) -> None:
        frames = self.stream.tap()
        # going up, nothing to filter out: cubic interpolation, frame by frame, no delay
        up = Resampler(RATE, MODEL_RATE, quality="QQ")
        while True:
            pcm = await frames.get()
            if not pcm:
                return  # the call ended
            if converted := up.feed(pcm):
                await self.rt.send_audio(converted)

    async def _barge_in(self) -> None:
        """The caller speaking over the agent stops it at once."""
        async for _ in self.audio.barge_ins():  # what was queued to play is dropped
            if self._playing_item:
                self._cut_items.add(self._playing_item)
            log.debug("The caller interrupted the realtime agent")
            with contextlib.suppress(Exception):
                await self.rt.interrupt()

    # -- model -> caller ---------------------------------------------------------------------

    async def _downlink(self) -> None:
        async for event in self.rt:
            if isinstance(event, RealtimeAudio):
                item = event.item_id
                if item in self._cut_items:
                    continue
                if item != self._playing_item:  # a new reply
                    self._playing_item = item
                    self._down.reset()
                    now = time.monotonic()
                    if self.stream.last_voice_at > self._reply_started_at:  # the caller spoke
                        turn = {"first_audio": now - self.stream.last_voice_at}
                        self.session.turns.append(turn)
                        record: CallRecord | None = getattr(self.session.ui, "call_record", None)
                        if record is not None:
                            record.agent_turn(turn)
                    self._reply_started_at = now
                self.stream.send(self._down.feed(event.audio.data))
            elif isinstance(event, RealtimeAudioInterrupted):
                self.stream.flush()
                self._cut_items.add(event.item_id)
            elif isinstance(event, RealtimeAudioEnd):
                if event.item_id == self._playing_item and event.item_id not in self._cut_items:
                    self.stream.send(self._down.flush())  # the reply's last few ms
                if self.session.ending:
                    self._last_words_done.set()
            elif isinstance(event, RealtimeHistoryUpdated):
                self._history = list(event.history)
            elif isinstance(event, RealtimeHistoryAdded):
                self._history.append(event.item)
            elif isinstance(event, RealtimeToolEnd):
                log.debug("realtime tool %s -> %r", event.tool.name, event.output)
                if self.session.ending:
                    self._agent_ended.set()
            elif isinstance(event, RealtimeError):
                log.warning("The realtime model reported an error: %s", event.error)

    async def _until_ended(self) -> None:
        """Returns once the agent ended the conversation and its last words were heard."""
        await self._agent_ended.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ENDING_GRACE):
                await self._last_words_done.wait()
        await self.stream.played()

    def _transcript(self) -> None:
        for item in self._history:
            role = getattr(item, "role", None)
            if role not in ("user", "assistant"):
                continue
            parts = []
            for content in getattr(item, "content", []):
                text = getattr(content, "transcript", None) or getattr(content, "text", None)
                if text:
                    parts.append(text)
            if parts:
                self.session.transcript.append(
                    ("user" if role == "user" else "agent", " ".join(parts))
                )
