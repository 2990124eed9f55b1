"""Hand a conversation to an OpenAI agent (the Agents SDK): texts, and calls in cascade.

Text: every message the person sends goes to the agent with the conversation so far; its reply
is sent back as a text. Voice: the caller's speech (voice activity detection on the call's
audio stream) is transcribed (``STT_ENGINE``), the agent's reply is streamed, and each sentence
is synthesised and played as soon as it is complete, the next one synthesised while this one
plays. The caller speaking, or pressing a key, stops the reply at once (barge-in), and what
they say is the next turn. Tools run as the agent calls them; the built-in ones
(:mod:`asteramisk.agent.tools`) end or transfer the conversation after the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from agents import Agent, RunConfig, Runner, TResponseInputItem
from agents.realtime import (
    RealtimeAgent,
    RealtimeModel,
    RealtimeRunConfig,
    RealtimeSessionModelSettings,
)

from asteramisk.agent.realtime import run_realtime
from asteramisk.agent.sentences import SentenceSplitter
from asteramisk.agent.tools import AgentSession, current_session, end_call_for_agent
from asteramisk.exceptions import HangupException
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.stt import get_stt_engine
from asteramisk.ui.base import UI
from asteramisk.ui.text import TextUI
from asteramisk.ui.voice import VoiceUI

__all__ = ["connect_agent"]

log = logging.getLogger(__name__)

STILL_THERE = "Are you still there?"


async def connect_agent(
    ui: UI,
    agent: Agent[Any] | RealtimeAgent[Any],
    *,
    context: Any = None,
    greeting: str | None = None,
    max_turns: int = 10,
    run_config: RunConfig | None = None,
    phrases: Sequence[str] | None = None,
    idle_timeout: float = 10.0,
    mode: str = "cascade",
    realtime_model: RealtimeModel | None = None,
    realtime_settings: RealtimeSessionModelSettings | None = None,
    realtime_config: RealtimeRunConfig | None = None,
) -> AgentSession:
    """Let ``agent`` lead the conversation on ``ui`` until either side ends it."""
    if mode not in ("cascade", "realtime"):
        raise ValueError(f"mode must be 'cascade' or 'realtime', not {mode!r}")
    session = AgentSession(ui)
    token = current_session.set(session)
    options = {"context": context, "max_turns": max_turns, "run_config": run_config}
    try:
        if isinstance(ui, TextUI):
            await _text(session, ui, _text_agent(agent), greeting, options)
        elif isinstance(ui, VoiceUI) and mode == "realtime":
            await run_realtime(
                session,
                ui,
                agent,
                context=context,
                greeting=greeting,
                model=realtime_model,
                model_settings=realtime_settings,
                run_config=realtime_config,
            )
        elif isinstance(ui, VoiceUI):
            await _voice(session, ui, _text_agent(agent), greeting, options, phrases, idle_timeout)
        else:
            raise TypeError(f"connect_openai_agent does not know {type(ui).__name__}")
    except HangupException:
        session.ended_by = session.ended_by or "caller"
    finally:
        current_session.reset(token)
    return session


def _text_agent(agent: Agent[Any] | RealtimeAgent[Any]) -> Agent[Any]:
    if isinstance(agent, RealtimeAgent):
        raise TypeError(
            "A RealtimeAgent speaks only in mode='realtime' on a call; give an Agent for texts "
            "and for calls in cascade mode."
        )
    return agent


# -- texts -------------------------------------------------------------------------------


async def _text(
    session: AgentSession,
    ui: TextUI,
    agent: Agent[Any],
    greeting: str | None,
    options: dict[str, Any],
) -> None:
    history: list[TResponseInputItem] = []
    if greeting:
        await ui.say(greeting)
        history.append({"role": "assistant", "content": greeting})
    message = ui.first_message if ui.first_message and not greeting else await ui.prompt("")
    while True:
        session.transcript.append(("user", message))
        history.append({"role": "user", "content": message})
        result = await Runner.run(agent, history, **options)
        history = result.to_input_list()
        reply = str(result.final_output or "").strip()
        if reply:
            session.transcript.append(("agent", reply))
            await ui.say(reply)
        if session.ending:
            session.ended_by = "agent"
            await ui.hangup()
            return
        try:
            message = await ui.prompt("")
        except HangupException:
            session.ended_by = "idle"
            raise


# -- calls -------------------------------------------------------------------------------


async def _voice(
    session: AgentSession,
    ui: VoiceUI,
    agent: Agent[Any],
    greeting: str | None,
    options: dict[str, Any],
    phrases: Sequence[str] | None,
    idle_timeout: float,
) -> None:
    stt = get_stt_engine()
    history: list[TResponseInputItem] = []
    if greeting:
        session.transcript.append(("agent", greeting))
        history.append({"role": "assistant", "content": greeting})
        await ui.say(greeting)
    silences = 0
    while True:
        stream = await ui._listening()  # the same stream on ARI; over AGI, again after playing
        audio = await stream.utterance(idle_timeout)
        if audio is None:
            if stream.closed.is_set():
                raise HangupException("the caller hung up")
            silences += 1
            if silences > 1:
                session.ended_by = "idle"
                await ui.hangup()
                return
            await ui.say(STILL_THERE)
            continue
        silences = 0
        heard_at = time.monotonic()
        text = await stt.transcribe(audio, list(phrases) if phrases else None)
        if not text:
            continue
        timing = {"stt": time.monotonic() - heard_at}
        session.turns.append(timing)
        session.transcript.append(("user", text))
        history.append({"role": "user", "content": text})
        history = await _speak_reply(session, ui, agent, history, options, heard_at, timing)
        if session.ending:
            await end_call_for_agent(session, ui)
            return


async def _speak_reply(
    session: AgentSession,
    ui: VoiceUI,
    agent: Agent[Any],
    history: list[TResponseInputItem],
    options: dict[str, Any],
    heard_at: float,
    timing: dict[str, float],
) -> list[TResponseInputItem]:
    """Stream the agent's reply into speech; stop when the caller interrupts. The history
    after this turn (with what was actually said, when interrupted)."""
    run = Runner.run_streamed(agent, history, **options)
    # Where the caller can be heard while a file plays (ARI), each sentence is played as a
    # file: stopping a playback is immediate. Elsewhere (AGI, whose AudioSocket would end
    # with a playback) it goes over the call's audio stream, which the caller's voice flushes.
    by_file = ui.control.listens_while_playing
    splitter = SentenceSplitter()
    pending: asyncio.Queue[asyncio.Task[Any] | None] = asyncio.Queue()
    spoken: list[str] = []

    def synthesise(sentence: str) -> None:
        if "first_text" not in timing:
            timing["first_text"] = time.monotonic() - heard_at
        made = ui._speech_file(sentence) if by_file else ui._speech_pcm(sentence)
        task = asyncio.ensure_future(made)
        task.sentence = sentence  # type: ignore[attr-defined]
        pending.put_nowait(task)

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
    stream = await ui._listening()
    if not by_file:
        await ui.control.carry_stream_audio()
    try:
        while True:
            task = await pending.get()
            if task is None:
                break
            speech = await task
            if "first_audio" not in timing:
                timing["first_audio"] = time.monotonic() - heard_at
            if by_file:
                key = await ui.control.play(speech, "0123456789*#", ui._stream_speaking())
                interrupted = key is not None
            else:
                interrupted = await _stream_speech(ui, stream, speech)
            spoken.append(task.sentence)  # type: ignore[attr-defined]
            if interrupted:  # a key or the caller's voice: stop talking
                break
        if not interrupted:
            await producer  # raises what the run raised
            if session.ending:
                await stream.played()  # the last words are heard before the call ends
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
        session.transfer_to = ""
        return [*history, {"role": "assistant", "content": said + " ..."}]
    return run.to_input_list()


async def _stream_speech(ui: VoiceUI, stream: AudioStream, pcm: bytes) -> bool:
    """Play ``pcm`` over the call's stream; True if the caller's voice or a key stopped it
    (what was queued is dropped at once)."""
    if ui.barge_in and stream.speaking.is_set():
        return True
    stream.send(pcm)
    waits: dict[str, asyncio.Future[Any]] = {
        "drained": asyncio.ensure_future(stream.drained()),
        "key": asyncio.ensure_future(ui.control.wait_digit(len(pcm) / 16000 + 5)),
    }
    if ui.barge_in:
        waits["voice"] = asyncio.ensure_future(stream.speaking.wait())
    try:
        done, _ = await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits.values():
            waiting.cancel()
        await asyncio.gather(*waits.values(), return_exceptions=True)
    key = waits["key"]
    pressed = key in done and not key.cancelled() and key.exception() is None and key.result()
    if waits["drained"] in done and not pressed:
        return False
    stream.flush()
    return True
