"""Tools an app gives its agent to act on the conversation: end it, transfer it, send keys.

::

    from asteramisk.agent import end_conversation, send_dtmf, transfer_call
    agent = Agent(name="Front desk", instructions=..., tools=[end_conversation, transfer_call])

They act on the conversation the agent is connected to (found through a context variable the
run carries), so they work with any run context of the app's own.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents import function_tool

from asteramisk.ui.base import UI

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["AgentSession", "current_session", "end_conversation", "send_dtmf", "transfer_call"]


@dataclass
class AgentSession:
    """The state of one conversation handed to an agent."""

    ui: UI
    ending: bool = False
    """Set by ``end_conversation``: the conversation ends after the agent's reply."""
    transfer_to: str = ""
    """Set by ``transfer_call``: the call is transferred after the agent's reply."""
    transcript: list[tuple[str, str]] = field(default_factory=list)
    """``("user" | "agent", text)`` in order."""
    turns: list[dict[str, float]] = field(default_factory=list)
    """Per voice turn, seconds from the end of the caller's speech: ``stt``, ``first_text``,
    ``first_audio`` (when the reply's first sentence started to play). In realtime mode only
    ``first_audio``, counted from the caller's last voiced frame to the reply's first audio."""
    ended_by: str = ""
    """``"agent"``, ``"caller"`` (hung up), ``"idle"`` (no answer) or, in realtime mode,
    ``"model"`` (the model's session closed while the caller was still on the line; the call
    is the app's again)."""


async def end_call_for_agent(session: AgentSession, ui: VoiceUI) -> None:
    """The agent ended the call on ``ui``: transfer it if the agent asked to, else hang up."""
    session.ended_by = "agent"
    if session.transfer_to:
        await ui.transfer(session.transfer_to)
    await ui.hangup()


current_session: contextvars.ContextVar[AgentSession] = contextvars.ContextVar(
    "asteramisk_agent_session"
)


@function_tool
def end_conversation() -> str:
    """End the conversation (hang up the call) after your reply. Use it when the person says
    goodbye or has nothing more to ask."""
    current_session.get().ending = True
    return "The conversation will end after your reply: say goodbye."


@function_tool
def transfer_call(destination: str) -> str:
    """Transfer the caller to a person or department, after your reply.

    Args:
        destination: the phone number or extension to transfer to.
    """
    session = current_session.get()
    if not destination.strip().lstrip("+").isalnum():
        return f"{destination!r} is not a number to transfer to."
    session.transfer_to = destination.strip()
    session.ending = True
    return f"The caller will be transferred to {destination} after your reply."


@function_tool
async def send_dtmf(digits: str) -> str:
    """Send telephone keypad tones on the call (for example to navigate another IVR).

    Args:
        digits: the keys to send, from 0-9, * and #.
    """
    from asteramisk.ui.voice import VoiceUI

    session = current_session.get()
    if not isinstance(session.ui, VoiceUI):
        return "Keypad tones can only be sent on a phone call."
    if not digits or any(key not in "0123456789*#ABCD" for key in digits):
        return f"{digits!r} are not keypad keys."
    await session.ui.send_dtmf(digits)
    return f"Sent {digits}."
