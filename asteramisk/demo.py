"""``python -m asteramisk demo``: the README's app on a real Asterisk, called and texted by a
VirtualPhone.

Brings up the sandbox unless an Asterisk is configured (``ASTERISK_HOST`` and the AMI
credentials), runs the README's call and text handlers on a ``Server``, and has a
``VirtualPhone`` call it through the simulated PSTN, listen, press keys, and then text it,
printing both sides as they happen.
Exits 0 when every step happened.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable

from asteramisk.config import config
from asteramisk.exceptions import AsteramiskException
from asteramisk.runner import run
from asteramisk.server import Server
from asteramisk.testing.phone import PhoneCall, VirtualPhone
from asteramisk.ui import TextUI, VoiceUI

__all__ = ["run_demo"]

NUMBER = "1234567890"
STEPS = (
    "answered",
    "greeted",
    "pressed 7",
    "read back",
    "menu",
    "option 1",
    "hung up",
    "text greeting",
    "text name",
    "text goodbye",
)
VOCABULARY = (
    "hello world please pick a number between and ten you pressed for option press "
    "zero one two three four five six seven eight nine we are sorry something went wrong "
    "goodbye you chose"
).split()


def run_demo(out: Callable[[str], None] = print) -> int:
    """Run the demo; return the process exit status."""
    if not (config.is_set("ASTERISK_AMI_USER") and config.is_set("ASTERISK_HOST")):
        from asteramisk.testing.sandbox import Sandbox

        out("No Asterisk configured (ASTERISK_HOST, ASTERISK_AMI_USER): using the sandbox.")
        Sandbox().up(progress=out).apply()
    try:
        steps = run(asyncio.wait_for(_demo(out), 120))
    except AsteramiskException as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print("demo failed: the call did not finish within 120 s", file=sys.stderr)
        return 1
    missing = [step for step in STEPS if step not in steps]
    if missing:
        print(f"demo failed: these steps did not happen: {', '.join(missing)}", file=sys.stderr)
        return 1
    out(f"Demo complete: {', '.join(steps)}.")
    return 0


async def _demo(out: Callable[[str], None]) -> list[str]:
    started = time.monotonic()
    steps: list[str] = []

    def show(who: str, text: str) -> None:
        out(f"[{time.monotonic() - started:6.2f}s] {who:>6}: {text}")

    # The README's handlers, with callbacks that say what they do.
    async def async_callback_1() -> None:
        steps.append("option 1")
        show("app", "runs async_callback_1")

    async def async_callback_2() -> None:
        steps.append("option 2")
        show("app", "runs async_callback_2")

    async def my_call_handler(ui: VoiceUI) -> None:
        show("app", f"call from {ui.remote_number} to {ui.local_number}")
        await ui.answer()
        steps.append("answered")
        await ui.say("Hello, world!")
        digit = await ui.gather("Please pick a number between 1 and 10", num_digits=1)
        show("app", f"gathered {digit!r}")
        await ui.say(f"You pressed {digit}")
        await ui.menu(
            "For option 1, press 1. For option 2, press 2.",
            callbacks={"1": async_callback_1, "2": async_callback_2},
        )
        await ui.hangup()

    async def my_text_handler(ui: TextUI) -> None:
        show("app", f"text conversation with {ui.remote_number}: {ui.first_message!r}")
        await ui.answer()
        await ui.say("Hello, world!")
        name = await ui.prompt("What is your name?")
        show("app", f"got the name {name!r}")
        await ui.say(f"Hello, {name}")
        await ui.say(f"Goodbye, {name}")
        await ui.hangup()

    async def listen(call: PhoneCall, pattern: str) -> str:
        heard = ""
        deadline = time.monotonic() + 20
        while not re.search(pattern, heard) and time.monotonic() < deadline:
            if call.ended.is_set():
                break
            text = await call.hear(timeout=max(0.1, deadline - time.monotonic()))
            if text:
                show("phone", f'hears "{text}"')
            heard = f"{heard} {text}"
        return heard

    server = await Server.create(host=config.AGI_SERVER_HOST, port=0)
    try:
        await server.register_extension(
            NUMBER, call_handler=my_call_handler, text_handler=my_text_handler
        )
        show("setup", f"Server serves {NUMBER} (AGI on {server.host}:{server.port})")
        async with VirtualPhone("5550100", vocabulary=VOCABULARY) as phone:
            show("phone", f"5550100 dials {NUMBER}")
            call = await phone.call(NUMBER)
            show("phone", "the call is answered")
            if "hello world" in await listen(call, "between one and ten"):
                steps.append("greeted")
            show("phone", "presses 7")
            await call.press("7")
            steps.append("pressed 7")
            heard = await listen(call, "option two press(ed)? two")
            if "you pressed seven" in heard:
                steps.append("read back")
            if re.search("option one press(ed)? one", heard):
                steps.append("menu")
            show("phone", "presses 1")
            await call.press("1")
            await call.wait_hangup(15)
            show("phone", "the app hung up")
            steps.append("hung up")

            async def receive() -> str:
                text = await phone.receive_text(timeout=15)
                show("phone", f"receives the text {text!r}")
                return text

            show("phone", f"texts {NUMBER}: 'Hi'")
            await phone.send_text(NUMBER, "Hi")
            if await receive() == "Hello, world!" and await receive() == "What is your name?":
                steps.append("text greeting")
            show("phone", "texts back: 'Alice'")
            await phone.send_text(NUMBER, "Alice")
            if await receive() == "Hello, Alice":
                steps.append("text name")
            if await receive() == "Goodbye, Alice":
                steps.append("text goodbye")
    finally:
        await server.close()
    return steps
