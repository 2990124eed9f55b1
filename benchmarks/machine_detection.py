"""Answering-machine detection on the sandbox: how often it is right, and how soon it decides.

    python benchmarks/machine_detection.py [--rounds 3]

A Communicator calls a VirtualPhone with ``make_call(detect_machine=True)``; the phone answers
as a person (a short word or sentence, after 0.3-0.8 s), as a voicemail (a greeting, then a
beep) or with silence. Each kind in several wordings, ``--rounds`` times (the phone's line
is clean: it does not mix noise into what it says). Reported per kind: ``answered_by``
counts and the time from the phone's answer to ``make_call`` returning (p50 / max); for
voicemails, whether ``wait_for_beep`` returned at the end of the beep and how long after.

The same calls are then placed with Asterisk's own ``AMD()`` (its default settings, from
Debian's amd.conf) in the dialplan of the answered call: its ``AMDSTATUS`` (HUMAN, MACHINE or
NOTSURE) and the time from the answer to its verdict, for the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections import Counter

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.dialplan import Dialplan
from asteramisk.communicator import Communicator
from asteramisk.config import config
from asteramisk.testing import Sandbox
from asteramisk.testing.phone import VirtualPhone
from asteramisk.testing.phone_call import PhoneCall

PEOPLE = ["Hello?", "Yes?", "Hello, this is Ann.", "Hi, who is calling?", "Smith residence."]
MACHINES = [
    "Hi, you have reached John. Leave a message after the tone.",
    "The person you are calling is not available. Please leave a message after the tone.",
    "Hello, you have reached the Smith family. We cannot come to the phone right now, but "
    "if you leave your name and number we will call you back.",
]


async def one(
    communicator: Communicator, phone: VirtualPhone, kind: str, text: str
) -> tuple[str, float, float | None]:
    placing = asyncio.create_task(communicator.make_call(phone.number, detect_machine=True))
    call: PhoneCall = await (await phone.incoming_call()).answer()
    answered = time.monotonic()
    beep_end: list[float] = []

    async def act() -> None:
        await asyncio.sleep(0.4)
        if kind != "silence":
            await call.say(text)
        if kind == "machine":
            await call.beep()
            beep_end.append(time.monotonic())

    acting = asyncio.create_task(act())
    ui = await placing
    decided = time.monotonic() - answered
    after_beep = None
    machine = kind == "machine" and ui.answered_by == "machine"
    if machine and await ui.wait_for_beep(timeout=20) and beep_end:
        after_beep = time.monotonic() - beep_end[0]
    acting.cancel()
    await ui.hangup()
    await call.wait_hangup(5)
    return ui.answered_by or "", decided, after_beep


async def act(call: PhoneCall, kind: str, text: str) -> None:
    await asyncio.sleep(0.4)
    if kind != "silence":
        await call.say(text)
    if kind == "machine":
        await call.beep()


async def amd_one(ami: AMIClient, phone: VirtualPhone, kind: str, text: str) -> tuple[str, float]:
    """The same call with Asterisk's AMD() on it: its AMDSTATUS and when it was known."""
    token = uuid.uuid4().hex[:12]
    context = f"amd-bench-{token}"
    dialplan = Dialplan(ami)
    steps = [
        ("AMD", ""),
        ("Set", f"DB(amd_bench/{token})=${{AMDSTATUS}}"),
        ("Wait", "10"),
        ("Hangup", ""),
    ]
    await dialplan.put(context, "s", steps)
    try:
        await ami.action(
            {
                "Action": "Originate",
                "Channel": f"PJSIP/{phone.number}@{config.ASTERISK_PSTN_ENDPOINT}",
                "Context": context,
                "Exten": "s",
                "Priority": "1",
                "CallerID": "5551234",
                "Async": "true",
            },
            as_list=False,
        )
        call = await (await phone.incoming_call()).answer()
        answered = time.monotonic()
        acting = asyncio.create_task(act(call, kind, text))
        status = ""
        while not status and time.monotonic() - answered < 15:
            response = await ami.action(
                {"Action": "DBGet", "Family": "amd_bench", "Key": token}, check=False
            )
            events = response if isinstance(response, list) else [response]
            status = next((str(e.get("Val")) for e in events if e.get("Val")), "")
            await asyncio.sleep(0.02)
        decided = time.monotonic() - answered
        acting.cancel()
        await call.hangup()
    finally:
        await dialplan.drop_context(context)
        await ami.action({"Action": "DBDel", "Family": "amd_bench", "Key": token}, check=False)
    verdict = {"HUMAN": "human", "MACHINE": "machine"}.get(status, "unknown")
    return verdict, decided


async def run_amd(rounds: int) -> None:
    cases = [("human", t) for t in PEOPLE] + [("machine", t) for t in MACHINES]
    cases += [("silence", "")]
    async with AMIClient.from_settings(config.snapshot()) as ami, VirtualPhone("5550162") as phone:
        print("\nAsterisk's AMD() (default settings), on the same calls:")
        print("| answered as | AMDSTATUS | decided p50 / max (s) |")
        print("|---|---|---|")
        for kind in ("human", "machine", "silence"):
            verdicts: Counter[str] = Counter()
            times = []
            for _ in range(rounds):
                for case_kind, text in cases:
                    if case_kind == kind:
                        verdict, decided = await amd_one(ami, phone, kind, text)
                        verdicts[verdict] += 1
                        times.append(decided)
            print(
                f"| {kind} | {', '.join(f'{k} {v}' for k, v in verdicts.most_common())} | "
                f"{statistics.median(times):.2f} / {max(times):.2f} |",
                flush=True,
            )


async def run(rounds: int) -> None:
    cases = [("human", t) for t in PEOPLE] + [("machine", t) for t in MACHINES]
    cases += [("silence", "")]
    async with (
        Communicator(callerid_number="5551234") as communicator,
        VirtualPhone("5550161") as phone,
    ):
        print(
            "| answered as | answered_by | decided p50 / max (s) | beep heard, at most after (s) |"
        )
        print("|---|---|---|---|")
        for kind in ("human", "machine", "silence"):
            verdicts: Counter[str] = Counter()
            times, beeps = [], []
            for _ in range(rounds):
                for case_kind, text in cases:
                    if case_kind == kind:
                        verdict, decided, after = await one(communicator, phone, kind, text)
                        verdicts[verdict] += 1
                        times.append(decided)
                        beeps.append(after)
            heard = [b for b in beeps if b is not None]
            beep_cell = f"{len(heard)}/{len(beeps)}, {max(heard):.2f}" if heard else "-"
            print(
                f"| {kind} | {', '.join(f'{k} {v}' for k, v in verdicts.most_common())} | "
                f"{statistics.median(times):.2f} / {max(times):.2f} | "
                f"{beep_cell if kind == 'machine' else ''} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--amd-only", action="store_true", help="only Asterisk's AMD()")
    args = parser.parse_args()
    Sandbox().up().apply()
    if not args.amd_only:
        asyncio.run(run(args.rounds))
    asyncio.run(run_amd(args.rounds))


if __name__ == "__main__":
    main()
