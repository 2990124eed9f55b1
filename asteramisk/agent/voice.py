"""A call handed to an agent in cascade: speech recognition, the model, speech synthesis.

The caller's speech (voice activity detection on the call's audio stream) is transcribed
(``STT_ENGINE``), the agent's reply is streamed, and each sentence is synthesised and spoken as
soon as it is complete, the next one synthesised while this one plays. The caller speaking, or
pressing a key, stops the reply at once (barge-in, in :class:`~asteramisk.ui.audio.CallAudio`),
and what they say is the next turn. Tools run as the agent calls them; the built-in ones
(:mod:`asteramisk.agent.tools`) end or transfer the conversation after the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from agents import Agent, Runner, TResponseInputItem
from agents.realtime import RealtimeAgent

from asteramisk.agent.sentences import SentenceSplitter
from asteramisk.agent.session import AgentOptions, AgentSession, end_call_for_agent, run_session
from asteramisk.agent.text import text_agent
from asteramisk.ui.audio import Prepared

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["STILL_THERE", "run_cascade"]

log = logging.getLogger(__name__)

STILL_THERE = "Are you still there?"


async def run_cascade(
    ui: VoiceUI, agent: Agent[Any] | RealtimeAgent[Any], options: AgentOptions
) -> AgentSession:
    """Let ``agent`` lead the call on ``ui`` until either side ends it."""
    chosen = text_agent(agent)

    async def converse(session: AgentSession) -> None:
        await _converse(session, ui, chosen, options)

    return await run_session(ui, converse)


async def _converse(
    session: AgentSession, ui: VoiceUI, agent: Agent[Any], options: AgentOptions
) -> None:
    history: list[TResponseInputItem] = []
    if options.greeting:
        session.transcript.append(("agent", options.greeting))
        history.append({"role": "assistant", "content": options.greeting})
        await ui.say(options.greeting)
    silences = 0
    while True:
        # the same stream on ARI; over AGI, opened again after a playback
        audio = await ui.audio.hear(options.idle_timeout)
        if audio is None:
            silences += 1
            if silences > 1:
                session.ended_by = "idle"
                await ui.hangup()
                return
            await ui.say(STILL_THERE)
            continue
        silences = 0
        heard_at = time.monotonic()
        text = await ui.audio.transcribe(audio, options.phrases)
        if not text:
            continue
        timing = {"stt": time.monotonic() - heard_at}
        session.turns.append(timing)
        session.transcript.append(("user", text))
        history.append({"role": "user", "content": text})
        history = await _speak_reply(session, ui, agent, history, options, heard_at, timing)
        if ui.call_record is not None:
            ui.call_record.agent_turn({**timing, "turn": time.monotonic() - heard_at})
        if session.ending:
            await end_call_for_agent(session, ui)
            return


async def _speak_reply(
    session: AgentSession,
    ui: VoiceUI,
    agent: Agent[Any],
    history: list[TResponseInputItem],
    options: AgentOptions,
    heard_at: float,
    timing: dict[str, float],
) -> list[TResponseInputItem]:
    """Stream the agent's reply into speech; stop when the caller interrupts. The history
    after this turn (with what was actually said, when interrupted)."""
    run = Runner.run_streamed(agent, history, **options.run_options())
    audio = ui.audio
    splitter = SentenceSplitter()
    pending: asyncio.Queue[asyncio.Task[Prepared] | None] = asyncio.Queue()
    spoken: list[str] = []

    def synthesise(sentence: str) -> None:
        if "first_text" not in timing:
            timing["first_text"] = time.monotonic() - heard_at
        pending.put_nowait(asyncio.ensure_future(audio.prepare(sentence)))

    async def produce() -> None:
        async for event in run.stream_events():
            if event.type == "raw_response_event" and event.data.type == (
                "response.output_text.delta"
            ):
                for sentence in splitter.feed(event.data.delta):
                    synthesise(sentence)
            elif event.type == "run_item_stream_event" and event.name == "message_output_created":
                for sentence in splitter.flush():  # end of one message (tools may follow)
                    synthesise(sentence)
        for sentence in splitter.flush():
            synthesise(sentence)
        pending.put_nowait(None)

    producer = asyncio.ensure_future(produce())
    interrupted = False
    await audio.stream()
    if not audio.by_file:
        await audio.carry_stream_audio()
    try:
        while True:
            task = await pending.get()
            if task is None:
                break
            item = await task
            if "first_audio" not in timing:
                timing["first_audio"] = time.monotonic() - heard_at
            interrupted = await audio.speak(item)
            spoken.append(item.text)
            if interrupted:  # a key or the caller's voice: stop talking
                break
        if not interrupted:
            await producer  # raises what the run raised
            if session.ending:
                await audio.played()  # the last words are heard before the call ends
    finally:
        if not producer.done():
            run.cancel()
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer
        while not pending.empty():
            leftover = pending.get_nowait()
            if leftover is not None:
                leftover.cancel()
    said = " ".join(spoken)
    if said:
        session.transcript.append(("agent", said))
    if interrupted:
        log.debug("The caller interrupted the agent after %r", said)
        session.ending = False  # the caller is still talking: hear them out
        session.transfer_to = session.transfer_announcement = ""
        return [*history, {"role": "assistant", "content": said + " ..."}]
    return run.to_input_list()
