"""OpenAI agents on calls and texts: ``ui.connect_openai_agent(agent)`` and the call tools."""

from asteramisk.agent.session import AgentOptions, AgentSession
from asteramisk.agent.tools import end_conversation, send_dtmf, transfer_call

__all__ = ["AgentOptions", "AgentSession", "end_conversation", "send_dtmf", "transfer_call"]
