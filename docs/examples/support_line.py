"""A support line: callers wait in a queue for the next agent, or ask for a supervisor, who
is called, told who is waiting and asked to take the call (a warm transfer).

Agents take calls by calling the agents' number; the supervisor is a phone number.

    SUPPORT_NUMBER=2500 AGENT_NUMBER=2501 SUPERVISOR_NUMBER=5550199 python support_line.py
"""

from __future__ import annotations

import os

import asteramisk
from asteramisk.exceptions import CallFailedException
from asteramisk.server import Server
from asteramisk.ui import VoiceUI

GREETING = "Thank you for calling support. For an agent, press 1. For a supervisor, press 2."


class SupportLine:
    """The handlers of the line: ``caller`` for the support number, ``agent`` for agents."""

    def __init__(self, server: Server, supervisor: str) -> None:
        self.queue = server.queue("support", music="default", announce_every=30)
        self.supervisor = supervisor

    async def caller(self, ui: VoiceUI) -> None:
        await ui.answer()
        choice = await ui.gather(GREETING, num_digits=1, timeout=8)
        if choice == "2" and await self.to_supervisor(ui):
            return  # connected to the supervisor: the server ends the pair when one leaves
        await ui.say("Please hold for the next agent.")
        await ui.enqueue(self.queue)  # until an agent has taken the call and left it
        await ui.say("Thank you for calling. Goodbye.")

    async def to_supervisor(self, ui: VoiceUI) -> bool:
        """Warm transfer: the caller holds with music while the supervisor is asked."""
        try:
            supervisor = await ui.start_transfer(self.supervisor, timeout=20)
        except CallFailedException:
            await ui.say("No supervisor is free right now.")
            return False
        if await supervisor.ask_yes_no(
            f"A caller from {ui.remote_number} asks for a supervisor. Will you take the call?"
        ):
            await ui.complete_transfer(supervisor)
            return True
        await ui.cancel_transfer(supervisor)
        await ui.say("No supervisor is free right now.")
        return False

    async def agent(self, ui: VoiceUI) -> None:
        await ui.answer()
        while True:
            caller = await self.queue.next(timeout=60)
            if caller is None:
                await ui.say("No callers are waiting. Goodbye.")
                return
            await ui.say("Connecting you to a caller.")
            await ui.bridge(caller)  # until the caller or the agent hangs up
            if await ui.gather("For the next caller, press 1.", timeout=8) != "1":
                return


async def main() -> None:
    async with Server() as server:
        line = SupportLine(server, os.environ.get("SUPERVISOR_NUMBER", "5550199"))
        await server.register_extension(
            os.environ.get("SUPPORT_NUMBER", "2500"), call_handler=line.caller
        )
        await server.register_extension(
            os.environ.get("AGENT_NUMBER", "2501"), call_handler=line.agent
        )
        await server.serve_forever()


if __name__ == "__main__":
    asteramisk.run(main())
