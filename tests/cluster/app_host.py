"""One app host of the cluster tests, run as its own process (in its own network namespace
by the tests): ``python -m tests.cluster.app_host MODE ...`` with the cluster's settings in
the environment (ASTERISK_HOSTS, REDIS_URL, ...).

``serve NUMBER``: serve calls to NUMBER (answer, say which host this is, wait for the caller
to hang up), report the calls each Asterisk node sent here as a JSON line on each SIGUSR1,
and at the end (SIGTERM).

``texts OUR FIRST COUNT``: serve OUR (no text handler: replies only), say "ready", wait for
"go" on stdin, then text COUNT people (7000000 + FIRST, ...) from OUR, each with a question
of its own, and check that each conversation gets the answer to its own question (the
cluster's dialplan answers "re: <question>"); prints the result as a JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter

from asteramisk.communicator import Communicator
from asteramisk.server import Server
from asteramisk.ui import VoiceUI
from asteramisk.ui.conversations import conversations
from asteramisk.exceptions import HangupException

PEOPLE = 7000000


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def serve(number: str, transport: str) -> None:
    per_node: Counter[str] = Counter()
    server = await Server.create(port=int(os.environ.get("AGI_SERVER_PORT", "4573")))

    async def handler(ui: VoiceUI) -> None:
        per_node[ui.call_record.asterisk_host or "?"] += 1
        await ui.answer()
        try:
            await ui.say("hello from the cluster")
            while True:
                await ui.gather("", num_digits=1, timeout=5)
        except HangupException:
            pass

    await server.register_extension(number, handler, transport=transport)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: say(calls=dict(per_node)))
    say(ready=True, nodes=[n.settings.ASTERISK_HOST for n in server.nodes if n.settings])
    await done.wait()
    say(calls=dict(per_node), final=True)
    await server.close(grace=0)


async def texts(our: str, first: int, count: int) -> None:
    server = await Server.create(port=int(os.environ.get("AGI_SERVER_PORT", "4573")))
    await server.register_extension(our)
    communicator = await Communicator.create(callerid_number=our)
    say(ready=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    right, wrong, failed = 0, [], []

    async def converse(i: int) -> None:
        nonlocal right
        person = str(PEOPLE + first + i)
        ui = await communicator.make_text(person)
        question = f"question {first + i}"
        try:
            answer = await ui.prompt(question, timeout=60)
        except Exception as exc:
            failed.append(f"{person}: {type(exc).__name__}: {exc}")
            return
        finally:
            await ui.hangup()
        if answer == f"re: {question}":
            right += 1
        else:
            wrong.append(f"{person}: {answer!r}")

    limit = asyncio.Semaphore(100)

    async def limited(i: int) -> None:
        async with limit:
            await converse(i)

    await asyncio.gather(*(limited(i) for i in range(count)))
    relay = conversations.relay
    say(
        right=right,
        wrong=wrong,
        failed=failed[:20],
        failures=len(failed),
        handed=getattr(relay, "handed", None),
        received=getattr(relay, "received", None),
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await communicator.close()
    await server.close(grace=0)


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "serve":
        asyncio.run(serve(args[0], args[1] if len(args) > 1 else "ari"))
    elif mode == "texts":
        asyncio.run(texts(args[0], int(args[1]), int(args[2])))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
