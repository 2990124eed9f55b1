"""``python -m asteramisk demo``: a real call on a real Asterisk, with its transcript.

Brings up the sandbox unless an Asterisk is configured (``ASTERISK_HOST`` and the AMI
credentials), serves a small IVR on the FastAGI server, places a call to it through a
``Local/`` channel, presses keys as the caller, and prints what happened on both sides. Exits 0
when every step happened.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable

from asteramisk.agi import AGI, FastAGIServer, core
from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.exceptions import AsteramiskException
from asteramisk.runner import run

__all__ = ["run_demo"]

STEPS = ("answered", "greeted", "digits", "read back", "goodbye")


class _Transcript:
    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self._started = time.monotonic()
        self.steps: list[str] = []

    def say(self, who: str, text: str) -> None:
        self._out(f"[{time.monotonic() - self._started:6.2f}s] {who:>9}: {text}")

    def step(self, name: str) -> None:
        self.steps.append(name)


async def _demo(out: Callable[[str], None]) -> list[str]:
    transcript = _Transcript(out)
    context = f"asteramisk-demo-{uuid.uuid4().hex[:6]}"
    ami = AMIClient()
    await ami.connect()
    server = FastAGIServer(port=0)
    done = asyncio.get_running_loop().create_future()

    async def press(agi: AGI, digits: str) -> None:
        await asyncio.sleep(0.5)
        for digit in digits:
            transcript.say("caller", f"presses {digit}")
            await ami.action(
                {
                    "Action": "PlayDTMF",
                    "Channel": agi.channel,
                    "Digit": digit,
                    "Duration": "100",
                    "Receive": "true",
                }
            )
            await asyncio.sleep(0.15)

    async def ivr(agi: AGI) -> None:
        try:
            transcript.say("asterisk", f"incoming call on {agi.channel}")
            await agi.execute(core.Answer())
            transcript.say("app", "answers")
            transcript.step("answered")
            transcript.say("app", "plays 'hello-world'")
            await agi.execute(core.StreamFile("hello-world"))
            transcript.step("greeted")
            transcript.say("app", "asks for digits (plays 'beep', waits for up to 4 keys or #)")
            caller = asyncio.ensure_future(press(agi, "42#"))
            digits, timed_out = await agi.execute(core.GetData("beep", 5000, 4))
            await caller
            transcript.say("app", f"got {digits!r}" + (" (timed out)" if timed_out else ""))
            if digits:
                transcript.step("digits")
            transcript.say("app", f"plays 'you-entered' and says the digits {digits}")
            await agi.execute(core.StreamFile("you-entered"))
            await agi.execute(core.SayDigits(digits))
            transcript.step("read back")
            transcript.say("app", "plays 'goodbye' and hangs up")
            await agi.execute(core.StreamFile("goodbye"))
            await agi.execute(core.Hangup())
            transcript.step("goodbye")
        finally:
            if not done.done():
                done.set_result(None)

    server.add_route("demo", ivr)
    try:
        await server.start()
        transcript.say("setup", f"FastAGI server on 127.0.0.1:{server.port}")
        await ami.action(
            {
                "Action": "DialplanExtensionAdd",
                "Context": context,
                "Extension": "100",
                "Priority": "1",
                "Application": "AGI",
                "ApplicationData": f"agi://127.0.0.1:{server.port}/demo",
                "Replace": "yes",
            }
        )
        transcript.say("setup", f"dialplan: 100@{context} -> AGI(agi://127.0.0.1:.../demo)")
        transcript.say("caller", f"dials 100@{context}")
        await ami.action(
            {
                "Action": "Originate",
                "Channel": f"Local/100@{context}/n",
                "Application": "Wait",
                "Data": "30",
                "Async": "true",
            }
        )
        await asyncio.wait_for(done, 30)
    finally:
        await server.close()
        await ami.action(
            {"Action": "Command", "Command": f"dialplan remove context {context}"}, check=False
        )
        await ami.close()
    return transcript.steps


def run_demo(out: Callable[[str], None] = print) -> int:
    """Run the demo; return the process exit status."""
    if not (config.is_set("ASTERISK_AMI_USER") and config.is_set("ASTERISK_HOST")):
        from asteramisk.testing.sandbox import Sandbox

        out("No Asterisk configured (ASTERISK_HOST, ASTERISK_AMI_USER): using the sandbox.")
        Sandbox().up(progress=out).apply()
    try:
        steps = run(_demo(out))
    except AsteramiskException as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print("demo failed: the call did not finish within 30 s", file=sys.stderr)
        return 1
    missing = [step for step in STEPS if step not in steps]
    if missing:
        print(f"demo failed: these steps did not happen: {', '.join(missing)}", file=sys.stderr)
        return 1
    out(f"Demo complete: {', '.join(steps)}.")
    return 0
