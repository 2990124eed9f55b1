"""``connect_openai_agent`` on a call: the mode its options name, cascade or realtime (each
imported on first use: the realtime one needs the SDK's realtime extras)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asteramisk.agent.session import AgentOptions, AgentSession

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["run_on_call"]


async def run_on_call(ui: VoiceUI, agent: Any, options: dict[str, Any]) -> AgentSession:
    """Run ``agent`` on the call of ``ui`` with ``options`` (``AgentOptions``' fields)."""
    settings = AgentOptions(**options)
    if settings.mode == "realtime":
        from asteramisk.agent.realtime import run_realtime

        return await run_realtime(ui, agent, settings)
    from asteramisk.agent.voice import run_cascade

    return await run_cascade(ui, agent, settings)
