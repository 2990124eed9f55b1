"""connect_openai_agent on texts and calls, with a scripted model standing in for OpenAI."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, RunConfig, function_tool
from agents.realtime import RealtimeAgent
from agents.realtime.model_events import (
    RealtimeModelEndOfStreamEvent,
    RealtimeModelInputAudioTranscriptionCompletedEvent,
    RealtimeModelToolCallEvent,
)
from agents.realtime.model_inputs import (
    RealtimeModelSendAudio,
    RealtimeModelSendInterrupt,
    RealtimeModelSendToolOutput,
)
from agents.realtime.testing import RealtimeStep, ScriptedRealtimeModel
from agents.testing import ScriptedModel, assistant_message, function_call
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from asteramisk.agent import AgentSession, end_conversation
from asteramisk.asterisk.ami import AMIClient
from asteramisk.media.format import rms
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import PhoneCall, VirtualPhone
from asteramisk.testing.realtime import TurnEnd, spoken
from asteramisk.tracing import trace
from asteramisk.ui import TextUI, VoiceUI

NO_TRACING = RunConfig(tracing_disabled=True)
CALLER_PHRASES = ["book a table for friday", "no thanks goodbye", "wait stop"]


def booking_agent(model: ScriptedModel, booked: list[str]) -> Agent[Any]:
    @function_tool
    def book_table(day: str) -> str:
        """Book a table.

        Args:
            day: the day of the booking.
        """
        booked.append(day)
        return f"Booked for {day}."

    return Agent(
        name="Front desk",
        instructions="Book tables.",
        model=model,
        tools=[book_table, end_conversation],
    )


async def test_text_conversation_with_an_agent_that_calls_a_tool(server: Server) -> None:
    booked: list[str] = []
    model = ScriptedModel(
        [
            [function_call("book_table", {"day": "Friday"}, call_id="c1")],
            [assistant_message("Your table is booked for Friday.")],
            [function_call("end_conversation", {}, call_id="c2")],
            [assistant_message("Goodbye!")],
        ]
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: TextUI) -> None:
        sessions.put_nowait(
            await ui.connect_openai_agent(booking_agent(model, booked), run_config=NO_TRACING)
        )

    await server.register_extension("3100", text_handler=handler)
    async with VirtualPhone("5550140") as phone:
        await phone.send_text("3100", "A table for Friday, please")
        assert await phone.receive_text() == "Your table is booked for Friday."
        assert booked == ["Friday"]
        await phone.send_text("3100", "Thanks, bye")
        assert await phone.receive_text() == "Goodbye!"
        session = await asyncio.wait_for(sessions.get(), 10)
    assert session.ended_by == "agent"
    assert session.transcript == [
        ("user", "A table for Friday, please"),
        ("agent", "Your table is booked for Friday."),
        ("user", "Thanks, bye"),
        ("agent", "Goodbye!"),
    ]
    # the second model call saw the whole conversation so far
    second_turn = model.calls[2].input
    assert "A table for Friday, please" in str(second_turn) and "Thanks, bye" in str(second_turn)
    assert model.remaining_steps == 0


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_call_with_a_cascaded_agent(server: Server, transport: str) -> None:
    booked: list[str] = []
    model = ScriptedModel(
        [
            [function_call("book_table", {"day": "Friday"}, call_id="c1")],
            [assistant_message("Your table is booked. See you on Friday.")],
            [function_call("end_conversation", {}, call_id="c2")],
            [assistant_message("Goodbye.")],
        ]
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        sessions.put_nowait(
            await ui.connect_openai_agent(
                booking_agent(model, booked),
                greeting="Hello, how can I help?",
                phrases=CALLER_PHRASES,
                run_config=NO_TRACING,
            )
        )

    await server.register_extension("3101", call_handler=handler, transport=transport)
    exporter = InMemorySpanExporter()  # the call's trace, as an OpenTelemetry exporter gets it
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    stop_tracing = trace(server, provider)
    heard = ["hello how can i help", "your table is booked", "see you on friday", "goodbye"]
    async with VirtualPhone("5550141", vocabulary=heard) as phone:
        call = await phone.call("3101")
        assert await call.hear(timeout=10) == "hello how can i help"
        await call.say("book a table for friday")
        assert await call.hear(timeout=15) == "your table is booked see you on friday"
        assert booked == ["Friday"]  # the tool ran
        assert "book a table for friday" in str(model.calls[0].input)  # what the caller said
        await call.say("no thanks goodbye")
        assert await call.hear(timeout=15) == "goodbye"
        await call.wait_hangup(10)  # the agent ended the call
        session = await asyncio.wait_for(sessions.get(), 10)
    assert session.ended_by == "agent"
    assert session.transcript[1] == ("user", "book a table for friday")
    assert [t.keys() >= {"stt", "first_text", "first_audio"} for t in session.turns] == [True] * 2
    for _ in range(50):  # the call's span ends once its clean-up is done
        if any(span.name == "call 3101" for span in exporter.get_finished_spans()):
            break
        await asyncio.sleep(0.1)
    stop_tracing()
    spans = exporter.get_finished_spans()
    (root,) = [span for span in spans if span.name == "call 3101"]
    turns = [span for span in spans if span.name == "agent turn"]
    assert len(turns) == 2
    assert all(t.parent is not None and t.parent.span_id == root.context.span_id for t in turns)
    for turn in turns:
        stages = [
            s for s in spans if s.parent is not None and s.parent.span_id == turn.context.span_id
        ]
        assert [s.name for s in stages] == ["stt", "model", "tts"]
        assert root.start_time is not None and root.end_time is not None
        assert root.start_time <= (turn.start_time or 0) <= (turn.end_time or 0) <= root.end_time


async def interrupt_the_reply(call: PhoneCall) -> None:
    """Once the app's long reply has played 2 s, the phone speaks over it; the app's audio
    must stop within 300 ms: nothing loud arrives from then until the app's next reply (which
    needs the caller's words to end and a pause after them, over a second)."""
    await call.wait_for_speech(timeout=15)  # the long reply has started
    await asyncio.sleep(2)
    await call.say("wait stop", wait=False)
    await asyncio.sleep(1.2)
    start = call.speaking_since
    late = [t - start for t in call.heard_at if start + 0.3 < t < start + 1.0]
    assert not late, f"playback went on {late[-1]:.2f} s after the phone spoke"
    assert any(start - 1 < t < start for t in call.heard_at)  # it was talking before


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_caller_interrupts_a_long_reply(server: Server, transport: str) -> None:
    long_reply = " ".join(f"Here is option number {n} of our many menus." for n in range(1, 12))
    model = ScriptedModel(
        [
            [assistant_message(long_reply)],
            [function_call("end_conversation", {}, call_id="c1")],
            [assistant_message("Stopping now.")],
        ]
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        agent = Agent(name="Talker", model=model, tools=[end_conversation])
        sessions.put_nowait(
            await ui.connect_openai_agent(agent, phrases=CALLER_PHRASES, run_config=NO_TRACING)
        )

    await server.register_extension("3102", call_handler=handler, transport=transport)
    async with VirtualPhone("5550142", vocabulary=["here is option number"]) as phone:
        call = await phone.call("3102")
        await asyncio.sleep(0.5)
        await call.say("book a table for friday")
        await interrupt_the_reply(call)
        await call.wait_hangup(15)
        session = await asyncio.wait_for(sessions.get(), 10)
    said = [text for who, text in session.transcript if who == "agent"]
    assert said[0].startswith("Here is option number 1") and "number 11" not in said[0]
    assert ("user", "wait stop") in session.transcript


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_a_caller_whose_line_goes_quiet_is_answered(
    server: Server, transport: str, asterisk: SandboxSettings
) -> None:
    """Issue 21.7: a Local channel plays a recorded request and then sends no audio at all
    (as a phone that suppresses silence does). The utterance must end when the words do:
    over AGI it used to last until the caller hung up, so the tool never ran in time."""
    booked: list[str] = []
    model = ScriptedModel(
        [
            [
                function_call("book_table", {"day": "Friday"}, call_id="c1"),
                function_call("end_conversation", {}, call_id="c2"),
            ],
            [assistant_message("Your table is booked. Goodbye.")],
        ]
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        sessions.put_nowait(
            await ui.connect_openai_agent(
                booking_agent(model, booked), phrases=CALLER_PHRASES, run_config=NO_TRACING
            )
        )

    number = "3103" if transport == "ari" else "3104"
    await server.register_extension(number, call_handler=handler, transport=transport)
    assert server.speech is not None
    request = await server.speech.file("Book a table for Friday.")  # what Asterisk plays
    context = f"quiet-caller-{transport}"
    steps = [("Answer", ""), ("Wait", "1"), ("Playback", request), ("Wait", "30")]
    async with AMIClient() as ami:
        for priority, (app, data) in enumerate(steps, start=1):
            await ami.action(
                {
                    "Action": "DialplanExtensionAdd",
                    "Context": context,
                    "Extension": "s",
                    "Priority": str(priority),
                    "Application": app,
                    "ApplicationData": data,
                    "Replace": "yes",
                }
            )
        try:
            await ami.action(
                {
                    "Action": "Originate",
                    "Channel": f"Local/{number}@{asterisk.call_context}/n",
                    "Context": context,
                    "Exten": "s",
                    "Priority": "1",
                    "Async": "true",
                }
            )
            # the words last about 2 s from about 1.5 s: answered well before the 30 s wait
            session = await asyncio.wait_for(sessions.get(), 15)
        finally:
            await ami.command(f"dialplan remove context {context}")
    assert booked == ["Friday"]
    assert session.ended_by == "agent"
    assert session.transcript[-1] == ("agent", "Your table is booked. Goodbye.")


# -- realtime mode: a scripted speech-to-speech model ---------------------------------------


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_call_with_a_realtime_agent(server: Server, transport: str) -> None:
    """Over ARI the audio goes through a snoop channel, over AGI through EXEC AudioSocket."""
    booked: list[str] = []
    model = ScriptedRealtimeModel(
        [
            RealtimeStep(
                expect=TurnEnd(),
                emit=[
                    RealtimeModelInputAudioTranscriptionCompletedEvent(
                        item_id="u1", transcript="book a table for friday"
                    ),
                    RealtimeModelToolCallEvent(
                        name="book_table", call_id="c1", arguments='{"day": "Friday"}'
                    ),
                ],
            ),
            RealtimeStep(
                expect=RealtimeModelSendToolOutput,
                emit=spoken("Your table is booked. See you on Friday.", "r1", "a1"),
            ),
            RealtimeStep(
                expect=TurnEnd(),
                emit=[
                    RealtimeModelToolCallEvent(
                        name="end_conversation", call_id="c2", arguments="{}"
                    )
                ],
            ),
            RealtimeStep(expect=RealtimeModelSendToolOutput, emit=spoken("Goodbye.", "r2", "a2")),
        ],
        strict=False,
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        agent = booking_agent(ScriptedModel([]), booked)  # an Agent, converted for realtime
        sessions.put_nowait(
            await ui.connect_openai_agent(
                agent, greeting="Hello, how can I help?", mode="realtime", realtime_model=model
            )
        )

    await server.register_extension("3103", call_handler=handler, transport=transport)
    heard = ["hello how can i help", "your table is booked", "see you on friday", "goodbye"]
    async with VirtualPhone("5550143", vocabulary=heard) as phone:
        call = await phone.call("3103")
        assert await call.hear(timeout=10) == "hello how can i help"
        await call.say("book a table for friday")
        assert await call.hear(timeout=15) == "your table is booked see you on friday"
        assert booked == ["Friday"]  # the tool ran in this process
        await call.say("no thanks goodbye")
        assert await call.hear(timeout=15) == "goodbye"
        await call.wait_hangup(10)  # the agent ended the call after its last words
        session = await asyncio.wait_for(sessions.get(), 10)
    assert model.remaining_steps == 0
    assert session.ended_by == "agent"
    assert session.transcript == [
        ("agent", "Hello, how can I help?"),
        ("user", "book a table for friday"),
        ("agent", "Your table is booked. See you on Friday."),
        ("agent", "Goodbye."),
    ]
    # what the model got is the caller's voice at 24 kHz: loud, and three times the samples,
    # frame by frame (no resampler's block delay on the way to the model)
    sent = [e.audio for e in model.sent_events if isinstance(e, RealtimeModelSendAudio)]
    assert all(len(pcm) == 3 * 320 for pcm in sent[5:-5])  # 20 ms frames, 8 -> 24 kHz
    assert max(rms(pcm) for pcm in sent) > 2000
    assert len(session.turns) == 2 and all(t["first_audio"] < 1.0 for t in session.turns)


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_caller_interrupts_a_realtime_agent(server: Server, transport: str) -> None:
    long_reply = " ".join(f"Here is option number {n} of our many menus." for n in range(1, 8))
    model = ScriptedRealtimeModel(
        [
            RealtimeStep(expect=TurnEnd(), emit=spoken(long_reply, "r1", "a1")),
            RealtimeStep(
                expect=TurnEnd(),
                emit=[
                    RealtimeModelToolCallEvent(
                        name="end_conversation", call_id="c1", arguments="{}"
                    )
                ],
            ),
            RealtimeStep(
                expect=RealtimeModelSendToolOutput, emit=spoken("Stopping now.", "r2", "a2")
            ),
        ],
        strict=False,
    )

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        agent = RealtimeAgent(name="Talker", tools=[end_conversation])
        await ui.connect_openai_agent(agent, mode="realtime", realtime_model=model)

    await server.register_extension("3104", call_handler=handler, transport=transport)
    async with VirtualPhone("5550144", vocabulary=["here is option number"]) as phone:
        call = await phone.call("3104")
        await asyncio.sleep(0.5)
        await call.say("book a table for friday")
        await interrupt_the_reply(call)
        await call.wait_hangup(15)
    # the model was told to stop
    assert any(isinstance(e, RealtimeModelSendInterrupt) for e in model.sent_events)
    assert model.remaining_steps == 0


async def test_realtime_session_that_ends_gives_the_call_back(server: Server) -> None:
    """The model's connection closes while the caller is on the line: connect_openai_agent
    returns (ended_by 'model') and the app still has the call."""
    model = ScriptedRealtimeModel(
        [RealtimeStep(expect=TurnEnd(), emit=[RealtimeModelEndOfStreamEvent()])], strict=False
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        agent = RealtimeAgent(name="Short-lived")
        sessions.put_nowait(
            await ui.connect_openai_agent(agent, mode="realtime", realtime_model=model)
        )
        # The model closed 500 ms after the caller's words; the app's own voice detection
        # waits 700 ms to call them finished (and would not talk over them before).
        await asyncio.sleep(1)
        await ui.say("Sorry")

    await server.register_extension("3105", call_handler=handler)
    async with VirtualPhone("5550145", vocabulary=["sorry", "goodbye"]) as phone:
        call = await phone.call("3105")
        await asyncio.sleep(0.5)
        await call.say("book a table for friday")
        session = await asyncio.wait_for(sessions.get(), 10)
        assert session.ended_by == "model"
        assert await call.hear(timeout=10) == "sorry"
