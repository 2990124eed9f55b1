"""Tools an app gives its agent to act on the conversation: end it, transfer it, send keys.

::

    from asteramisk.agent import end_conversation, send_dtmf, transfer_call
    agent = Agent(name="Front desk", instructions=..., tools=[end_conversation, transfer_call])

They act on the conversation the agent is connected to (found through a context variable the
run carries), so they work with any run context of the app's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from agents import function_tool

from asteramisk.agent.session import current_session

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["end_conversation", "send_dtmf", "transfer_call"]


@function_tool
def end_conversation() -> str:
    """End the conversation (hang up the call) after your reply. Use it when the person says
    goodbye or has nothing more to ask."""
    current_session.get().ending = True
    return "The conversation will end after your reply: say goodbye."


@function_tool
def transfer_call(destination: str, announcement: str = "") -> str:
    """Transfer the caller to a person or department, after your reply.

    Args:
        destination: the phone number or extension to transfer to.
        announcement: what to tell the person before the caller is connected (who is
            calling and why, in a sentence or two): a warm transfer, the caller on hold
            meanwhile. Leave it empty to put the caller straight through.
    """
    session = current_session.get()
    if not destination.strip().lstrip("+").isalnum():
        return f"{destination!r} is not a number to transfer to."
    session.transfer_to = destination.strip()
    session.transfer_announcement = announcement.strip()
    session.ending = True
    return f"The caller will be transferred to {destination} after your reply."


@function_tool
async def send_dtmf(digits: str) -> str:
    """Send telephone keypad tones on the call (for example to navigate another IVR).

    Args:
        digits: the keys to send, from 0-9, * and #.
    """
    ui = current_session.get().ui
    if not ui.is_call:
        return "Keypad tones can only be sent on a phone call."
    if not digits or any(key not in "0123456789*#ABCD" for key in digits):
        return f"{digits!r} are not keypad keys."
    await cast("VoiceUI", ui).send_dtmf(digits)
    return f"Sent {digits}."
