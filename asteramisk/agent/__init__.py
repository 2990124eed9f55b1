"""OpenAI agents on calls and texts: ``ui.connect_openai_agent(agent)`` and the call tools."""

from asteramisk.agent.tools import (
    AgentSession,
    end_conversation,
    send_dtmf,
    transfer_call,
)

__all__ = ["AgentSession", "end_conversation", "send_dtmf", "transfer_call"]
