"""Asterisk restarted under load: 100 live SIP calls (SIPp) and 20 text conversations.

    python benchmarks/restart_under_load.py [--calls 100 --texts 20]

One Server serves an IVR number on each transport (half the calls each) and a text number.
SIPp (Debian's ``sip-tester``) places the calls through the sandbox's PSTN trunk; each text
conversation is opened from its own number and waits for its second message. Then Asterisk
restarts (``core restart now``) and the script measures, from the moment Asterisk stopped
answering:

- how long until every call's handler was told (``HangupException``);
- how long after Asterisk answered again the numbers were back in its dialplan, and a new
  call on each transport reached its handler (the issue's bar: 10 s);
- that each text conversation got its second message, sent after the restart;
- what was left: the Server's calls, this process's fds and tasks, Asterisk's channels and
  bridges.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from sip_load import fds, sipp, sockets, stop, wait_until

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.messaging import send_message
from asteramisk.config import config
from asteramisk.exceptions import ActionError, AsteriskConnectionError, HangupException
from asteramisk.server import Server
from asteramisk.testing import Sandbox, SandboxSettings
from asteramisk.ui import TextUI, VoiceUI

NUMBERS = {"ari": "7300", "agi": "7301"}
TEXTS = "7302"
SENDERS = 5556000


def ivr_calls(settings: SandboxSettings, number: str, calls: int, port: int) -> Any:
    """SIPp placing ``calls`` calls to ``number`` that last 10 minutes (or until killed)."""
    options = ("-sn", "uac", "-m", str(calls), "-l", str(calls), "-r", "20", "-d", "600000")
    return sipp(settings, number, port, options)


async def started_at() -> str | None:
    """When the Asterisk that answers AMI started (None while none answers, or it is
    shutting down): a restart is over once this changed."""
    try:
        async with AMIClient() as ami:
            status = await ami.action({"Action": "CoreStatus"})
    except (AsteriskConnectionError, ActionError, OSError):
        return None
    return f"{status.get('CoreStartupDate')} {status.get('CoreStartupTime')}"


async def run(settings: SandboxSettings, calls: int, texts: int) -> dict[str, Any]:
    live: set[asyncio.Task[Any]] = set()
    told: list[float] = []
    new_calls: dict[str, float] = {}
    first: dict[str, str] = {}
    second: dict[str, str] = {}
    restarting = False

    def ivr(transport: str) -> Any:
        async def handler(ui: VoiceUI) -> None:
            if restarting:  # a call placed after the restart
                new_calls.setdefault(transport, time.monotonic())
                await ui.hangup()
                return
            task = asyncio.current_task()
            assert task is not None
            live.add(task)
            try:
                await ui.answer()
                while True:
                    await ui.say("Thank you for calling. Please hold the line.")
                    await asyncio.sleep(1)
            except HangupException:
                told.append(time.monotonic())
            finally:
                live.discard(task)

        return handler

    async def texting(ui: TextUI) -> None:
        """A conversation that waits, across the restart, for its second message."""
        first[ui.remote_number] = ui.first_message
        second[ui.remote_number] = await ui.prompt("Got it. Anything else?", timeout=300)
        await ui.say("Thanks, goodbye.")

    async with Server(port=0) as server, AMIClient() as ami:
        for transport, number in NUMBERS.items():
            await server.register_extension(
                number, call_handler=ivr(transport), transport=transport
            )
        await server.register_extension(TEXTS, text_handler=texting)
        baseline = {"fds": fds(), "tasks": len(asyncio.all_tasks()), "sockets": sockets()}
        phones = [
            ivr_calls(settings, number, calls // 2, 26000 + 10 * n)
            for n, number in enumerate(NUMBERS.values())
        ]
        try:
            up = await wait_until(lambda: len(live) >= calls, 60)
            assert up is not None, f"only {len(live)} of {calls} calls came up"
            for n in range(texts):
                await send_message(
                    ami, None, TEXTS, str(SENDERS + n), f"Hello from {n}", settings=config
                )
            opened = await wait_until(lambda: len(first) >= texts, 30)
            assert opened is not None, "the text conversations did not all open"
            loaded = {"fds": fds(), "tasks": len(asyncio.all_tasks())}
            before = await started_at()
            await asyncio.sleep(2)
            restarting = True
            # Asterisk restarts before it answers: the action is not waited for.
            restart = asyncio.ensure_future(
                ami.action({"Action": "Command", "Command": "core restart now"}, check=False)
            )
            restart.add_done_callback(lambda done: done.cancelled() or done.exception())
            stopped = time.monotonic()
            all_told = await wait_until(lambda: not live, 60)

            async def restarted() -> bool:
                return await started_at() not in (None, before)

            answering = await wait_until(restarted, 90, step=0.2)
            assert answering is not None, "Asterisk did not come back"
            back_at = time.monotonic()
            answering = back_at - stopped
        finally:
            stop(phones)

        async def registered() -> bool:
            async with AMIClient() as check:
                shown = await check.command(
                    f"dialplan show {NUMBERS['agi']}@{config.ASTERISK_INCOMING_CALL_CONTEXT}"
                )
            return NUMBERS["agi"] in shown and "AGI(" in shown

        numbers_back = await wait_until(registered, 30, step=0.1)
        after = [
            ivr_calls(settings, number, 1, 26100 + 10 * n)
            for n, number in enumerate(NUMBERS.values())
        ]
        await wait_until(lambda: len(new_calls) == len(NUMBERS), 30)
        stop(after)
        async with AMIClient() as ami2:
            for n in range(texts):
                await send_message(
                    ami2, None, TEXTS, str(SENDERS + n), f"Second from {n}", settings=config
                )
            answered = await wait_until(lambda: len(second) >= texts, 60)
            channels = await ami2.command("core show channels count")
            await ami2.action(
                {"Action": "Command", "Command": "database deltree asteramisk_texts"}, check=False
            )
        await asyncio.sleep(1)  # connections closed just now finish closing
        calls_left = repr(server)
        left = {"fds": fds(), "tasks": len(asyncio.all_tasks()), "sockets": sockets()}
    return {
        "calls up (s)": round(up, 2),
        "baseline": baseline,
        "loaded": loaded,
        "handlers told (s after the restart)": None if all_told is None else round(all_told, 2),
        "told": len(told),
        "Asterisk answering again (s)": round(answering, 1),
        "numbers back (s after answering)": None
        if numbers_back is None
        else round(numbers_back, 2),
        "new calls served (s after answering)": {
            transport: round(at - back_at, 2) for transport, at in new_calls.items()
        },
        "second texts answered": f"{len(second)}/{texts}" if answered is not None else "no",
        "left": left,
        "server": calls_left,
        "Asterisk channels": channels.strip().splitlines()[0] if channels else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--texts", type=int, default=20)
    args = parser.parse_args()
    settings = Sandbox().up()
    settings.apply()
    config.MAX_CONCURRENT_CALLS = args.calls + 10
    for key, value in asyncio.run(run(settings, args.calls, args.texts)).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
