"""A text conversation handed to an agent: each message the person sends goes to the agent
with the conversation so far, and its reply is sent back as a text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents import Agent, Runner, TResponseInputItem
from agents.realtime import RealtimeAgent

from asteramisk.agent.session import AgentOptions, AgentSession, run_session
from asteramisk.exceptions import HangupException

if TYPE_CHECKING:
    from asteramisk.ui.text import TextUI

__all__ = ["run_text", "text_agent"]


def text_agent(agent: Agent[Any] | RealtimeAgent[Any]) -> Agent[Any]:
    """``agent``, which must be a text agent (an ``Agent``)."""
    if isinstance(agent, RealtimeAgent):
        raise TypeError(
            "A RealtimeAgent speaks only in mode='realtime' on a call; give an Agent for texts "
            "and for calls in cascade mode."
        )
    return agent


async def run_text(
    ui: TextUI, agent: Agent[Any] | RealtimeAgent[Any], options: AgentOptions
) -> AgentSession:
    """Let ``agent`` answer the texts of ``ui`` until either side ends the conversation."""
    chosen = text_agent(agent)

    async def converse(session: AgentSession) -> None:
        history: list[TResponseInputItem] = []
        if options.greeting:
            await ui.say(options.greeting)
            history.append({"role": "assistant", "content": options.greeting})
        first = ui.first_message if ui.first_message and not options.greeting else None
        message = first if first is not None else await ui.prompt("")
        while True:
            session.transcript.append(("user", message))
            history.append({"role": "user", "content": message})
            result = await Runner.run(chosen, history, **options.run_options())
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

    return await run_session(ui, converse)
