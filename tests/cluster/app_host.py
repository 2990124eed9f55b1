"""One app host of the cluster tests, run as its own process (in its own network namespace
by the tests): ``python -m tests.cluster.app_host MODE ...`` with the cluster's settings in
the environment (ASTERISK_HOSTS, REDIS_URL, ...). It talks in JSON lines on stdout and reads
a line on stdin for each step.

``serve NUMBER``: serve calls to NUMBER on every Asterisk (answer, say a few words, wait for
the caller to hang up); each line on stdin: report the calls each Asterisk node sent here.

``hold OUR PERSON``: open a text conversation with PERSON from OUR (claimed in Redis for
this host) and wait, until killed.

``texts OUR FIRST COUNT``: serve OUR (no text handler: replies only); on "go", text COUNT
people (7000000 + FIRST, ...) from OUR, each a question of its own (the cluster's dialplan
answers "re: <question>"), and report; on the next "go", once Redis is listened to again,
ask each conversation a second question and report. Each answer must be its own question's.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter

from asteramisk.communicator import Communicator
from asteramisk.exceptions import HangupException
from asteramisk.server import Server
from asteramisk.text_relay import TextRelay
from asteramisk.ui import TextUI, VoiceUI
from asteramisk.ui.conversations import conversations

PEOPLE = 7000000


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def serve(number: str, transport: str) -> None:
    per_node: Counter[str] = Counter()
    server = await Server.create(port=int(os.environ.get("AGI_SERVER_PORT", "4573")))

    async def handler(ui: VoiceUI) -> None:
        per_node[ui.call_record.asterisk_host] += 1
        await ui.answer()
        try:
            await ui.say("hello")
            while True:
                await ui.gather("", num_digits=1, timeout=5)
        except HangupException:
            pass

    await server.register_extension(number, handler, transport=transport)
    say(ready=True)
    while await line():
        say(calls=dict(per_node))
    await server.close(grace=0)


async def texts(our: str, first: int, count: int) -> None:
    server = await Server.create(port=int(os.environ.get("AGI_SERVER_PORT", "4573")))
    await server.register_extension(our)
    communicator = await Communicator.create(callerid_number=our)
    relay = conversations.relay
    assert isinstance(relay, TextRelay)
    say(ready=True)
    await line()
    uis = [await communicator.make_text(str(PEOPLE + first + i)) for i in range(count)]
    limit = asyncio.Semaphore(100)

    async def ask(i: int, ui: TextUI, round_: int) -> str | None:
        question = f"question {round_} of {first + i}"
        async with limit:
            try:
                answer = await ui.prompt(question, timeout=60)
            except Exception as exc:
                return f"{ui.remote_number}: {type(exc).__name__}: {exc}"
        return None if answer == f"re: {question}" else f"{ui.remote_number}: {answer!r}"

    for round_ in (1, 2):
        if round_ == 2:
            await line()
            await relay.wait_listening()
        problems = [
            p for p in await asyncio.gather(*(ask(i, ui, round_) for i, ui in enumerate(uis))) if p
        ]
        say(round=round_, right=count - len(problems), problems=problems[:20],
            handed=relay.handed, received=relay.received)  # fmt: skip
    await line()
    for ui in uis:
        await ui.hangup()
    await communicator.close()
    await server.close(grace=0)


async def hold(our: str, person: str) -> None:
    server = await Server.create(port=int(os.environ.get("AGI_SERVER_PORT", "4573")))
    await server.register_extension(our)
    communicator = await Communicator.create(callerid_number=our)
    await communicator.make_text(person)
    say(ready=True)
    await line()
    await communicator.close()
    await server.close(grace=0)


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "serve":
        asyncio.run(serve(args[0], args[1] if len(args) > 1 else "ari"))
    elif mode == "hold":
        asyncio.run(hold(args[0], args[1]))
    elif mode == "texts":
        asyncio.run(texts(args[0], int(args[1]), int(args[2])))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
