"""What every agent driver shares: the options of ``connect_openai_agent``, the state of one
conversation handed to an agent (:class:`AgentSession`), and how a session runs and ends.

The drivers are one module per medium: :mod:`~asteramisk.agent.text` (texts),
:mod:`~asteramisk.agent.voice` (calls, cascade: STT, model, TTS) and
:mod:`~asteramisk.agent.realtime` (calls, a speech-to-speech model). ``UI.connect_openai_agent``
imports the one it needs on first use.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asteramisk.exceptions import CallFailedException, HangupException

if TYPE_CHECKING:
    from agents import RunConfig
    from agents.realtime import RealtimeModel, RealtimeRunConfig, RealtimeSessionModelSettings

    from asteramisk.ui.base import UI
    from asteramisk.ui.voice import VoiceUI

__all__ = [
    "AgentOptions",
    "AgentSession",
    "current_session",
    "end_call_for_agent",
    "run_session",
]


@dataclass(frozen=True)
class AgentOptions:
    """The options of :meth:`~asteramisk.ui.base.UI.connect_openai_agent` (see there)."""

    context: Any = None
    greeting: str | None = None
    max_turns: int = 10
    run_config: RunConfig | None = None
    phrases: tuple[str, ...] | None = None
    idle_timeout: float = 10.0
    mode: str = "cascade"
    realtime_model: RealtimeModel | None = None
    realtime_settings: RealtimeSessionModelSettings | None = None
    realtime_config: RealtimeRunConfig | None = None

    def run_options(self) -> dict[str, Any]:
        """The keyword arguments of the SDK's ``Runner.run`` / ``run_streamed``."""
        return {"context": self.context, "max_turns": self.max_turns, "run_config": self.run_config}


@dataclass
class AgentSession:
    """The state of one conversation handed to an agent."""

    ui: UI
    ending: bool = False
    """Set by ``end_conversation``: the conversation ends after the agent's reply."""
    transfer_to: str = ""
    """Set by ``transfer_call``: the call is transferred after the agent's reply."""
    transfer_announcement: str = ""
    """Set by ``transfer_call``: said to the transfer's target before the caller is connected
    (a warm transfer: the call is then handed off, ``ui.handed_off``); empty: a blind one."""
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


current_session: contextvars.ContextVar[AgentSession] = contextvars.ContextVar(
    "asteramisk_agent_session"
)
"""The session the running agent acts on (what the tools of :mod:`asteramisk.agent.tools`
read)."""


async def run_session(ui: UI, body: Callable[[AgentSession], Awaitable[None]]) -> AgentSession:
    """Run ``body`` as the agent session of ``ui``; a hangup ends it as the caller's doing."""
    session = AgentSession(ui)
    token = current_session.set(session)
    try:
        await body(session)
    except HangupException:
        session.ended_by = session.ended_by or "caller"
    finally:
        current_session.reset(token)
    return session


async def end_call_for_agent(session: AgentSession, ui: VoiceUI) -> None:
    """The agent ended the call on ``ui``: transfer it if the agent asked to, else hang up."""
    session.ended_by = "agent"
    if session.transfer_to and session.transfer_announcement:
        target = await ui.start_transfer(session.transfer_to)
        try:
            await target.say(session.transfer_announcement)
        except HangupException:  # the target hung up: the caller is still ours
            await ui.unhold()
            raise CallFailedException(
                f"The transfer to {session.transfer_to} failed: it hung up.", cause=16
            ) from None
        await ui.complete_transfer(target)
        return
    if session.transfer_to:
        await ui.transfer(session.transfer_to)
    await ui.hangup()
