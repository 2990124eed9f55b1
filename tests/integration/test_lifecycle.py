"""Who owns what: a closed Server leaves nothing of its own running, and each Server keeps the
configuration it started with."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI

from .test_voice_verbs import serve_once

ANSWERS = ["book a table", "cancel my order"]


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550170", vocabulary=["what would you like"]) as p:
        yield p


def _children() -> set[int]:
    """The processes this process started and that still run."""
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            found |= {int(p) for p in Path(f"/proc/self/task/{task}/children").read_text().split()}
    return found


def _listening() -> set[int]:
    """The TCP ports this process listens on."""
    sockets = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in sockets:  # LISTEN, one of ours
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _threads() -> set[str]:
    """Threads besides the event loop's executor (asyncio.to_thread's pool is the loop's)."""
    return {t.name for t in threading.enumerate() if not t.name.startswith("asyncio_")}


def _tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def _serve_a_call_that_uses_everything(server: Server, phone: VirtualPhone) -> str:
    """One call that speaks over http (media server), listens (AudioSocket server) and
    recognises speech (the recogniser's worker process)."""

    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        return await ui.prompt("What would you like?", phrases=ANSWERS, timeout=10)

    result = await serve_once(server, phone, "agi", "2401", handler)
    call = await phone.call("2401")
    assert await call.hear(timeout=10) == "what would you like"
    await call.say("cancel my order")
    answer: str = await asyncio.wait_for(result, 15)
    await call.wait_hangup(10)
    return answer


async def test_a_closed_server_leaves_nothing_running(
    asterisk: SandboxSettings, phone: VirtualPhone, tmp_path: Path
) -> None:
    config.TTS_DELIVERY = "http"
    config.TTS_CACHE_DIR = str(tmp_path)
    try:
        before = (_tasks(), _children(), _listening(), _threads())
        for _round in range(2):  # closed, then a new one in the same process: the same
            server = await Server.create(port=0)
            assert server.speech is not None
            assert await _serve_a_call_that_uses_everything(server, phone) == "cancel my order"
            assert server.speech.media_url  # the media server ran
            assert _listening() - before[2]  # the server's sockets were open
            await server.close()
            await asyncio.sleep(0.1)  # closed connections' callbacks run
            assert _tasks() <= before[0], _tasks() - before[0]
            assert _children() <= before[1]  # the recogniser's worker ended
            assert _listening() <= before[2]  # FastAGI, AudioSocket and media http closed
            assert _threads() <= before[3]
    finally:
        del config.TTS_DELIVERY
        config.TTS_CACHE_DIR = asterisk.env()["TTS_CACHE_DIR"]


async def test_each_server_keeps_the_configuration_it_started_with(
    asterisk: SandboxSettings,
) -> None:
    """A change to ``config`` after start reaches no running server: each removes its
    entries from the context it added them to."""
    other = "asteramisk-test-other"
    async with AMIClient() as ami:

        async def shown(context: str) -> str:
            return await ami.command(f"dialplan show 2402@{context}")

        first = await Server.create(port=0)
        try:
            config.ASTERISK_INCOMING_CALL_CONTEXT = other
            second = await Server.create(port=0)
            try:
                config.ASTERISK_INCOMING_CALL_CONTEXT = asterisk.call_context
                await first.register_extension("2402", call_handler=_never)
                await second.register_extension("2402", call_handler=_never)
                assert first.ari_app in await shown(asterisk.call_context)
                assert second.ari_app in await shown(other)
                config.ASTERISK_INCOMING_CALL_CONTEXT = "somewhere-else"
                await second.unregister_extension("2402")
                assert second.ari_app not in await shown(other)  # removed where it was
                assert first.ari_app in await shown(asterisk.call_context)
                assert first.settings is not None
                assert asterisk.call_context == first.settings.ASTERISK_INCOMING_CALL_CONTEXT
            finally:
                await second.close()
        finally:
            config.ASTERISK_INCOMING_CALL_CONTEXT = asterisk.call_context
            await first.close()
        assert first.ari_app not in await shown(asterisk.call_context)
        await ami.action(
            {"Action": "Command", "Command": f"dialplan remove context {other}"}, check=False
        )


async def _never(ui: VoiceUI) -> None:
    raise AssertionError("no call is made in this test")


APP = """
import asyncio, faulthandler, signal, sys
import asteramisk
faulthandler.register(signal.SIGQUIT, all_threads=True)  # a test that times out asks where

from asteramisk.server import Server

async def handler(ui):
    await ui.answer()

def dump_tasks():  # a test that times out asks where each task waits
    print("SIGINT handler:", signal.getsignal(signal.SIGINT), file=sys.stderr)
    for task in asyncio.all_tasks():
        print(task, file=sys.stderr)
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()

async def main():
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_tasks)
    server = await Server.create(port=0)
    transport = sys.argv[3] if len(sys.argv) > 3 else "ari"
    await server.register_extension(sys.argv[2], call_handler=handler, transport=transport)
    # Ready once serving: serve_forever's SIGTERM handler is set by the time this prints (a
    # signal sent before it killed the app with no clean-up, a race of the test seen under load).
    asyncio.get_running_loop().call_soon(lambda: print(server.ari_app, server.port, flush=True))
    await server.serve_forever()
    print("returned", flush=True)

if sys.argv[1] == "asteramisk":
    asteramisk.run(main())
else:
    asyncio.run(main())
"""


def as_from_a_terminal() -> None:
    """Start the app with Ctrl-C's signal at its default, as a shell in a terminal does.

    A test run started in the background by a script (``./scripts/test &``, or a CI runner
    doing so) has SIGINT ignored, and an ignored signal stays ignored across ``exec``: the
    app would start with Ctrl-C ignored (Python then installs no KeyboardInterrupt handler,
    nor asyncio.run its own), which no terminal does. That made this test hang in such runs
    only; the app's ``SIGINT handler`` line in a timeout's dump shows which it got."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_masks(pid: int) -> str:
    """The signal lines of a process's /proc status (0: this process)."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    return " ".join(line for line in status.splitlines() if line.startswith(("Sig", "ShdPnd")))


@pytest.mark.parametrize(
    ("runner", "signal_name", "returns"),
    [
        ("asyncio", "SIGTERM", True),  # the README's app, as a service manager stops it
        ("asyncio", "SIGINT", False),  # Ctrl-C: KeyboardInterrupt, after the clean-up
        ("asteramisk", "SIGTERM", False),  # asteramisk.run: main cancelled, exit status 0
    ],
)
async def test_a_stopped_app_leaves_no_dialplan_entry(
    asterisk: SandboxSettings, tmp_path: Path, runner: str, signal_name: str, returns: bool
) -> None:
    import signal
    import sys

    script = tmp_path / "app.py"
    script.write_text(APP)
    env = {**os.environ, **{k: v for k, v in asterisk.env().items() if v}}
    number = "2403"
    app = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        runner,
        number,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=as_from_a_terminal,
    )
    assert app.stdout is not None
    try:
        ari_app = (await asyncio.wait_for(app.stdout.readline(), 30)).decode().split(" ")[0]
        assert ari_app, (await app.stderr.read()).decode() if app.stderr else ""
        async with AMIClient() as ami:
            context = asterisk.call_context
            assert ari_app in await ami.command(f"dialplan show {number}@{context}")
            app.send_signal(getattr(signal, signal_name))
            try:
                status = await asyncio.wait_for(app.wait(), 20)
            except TimeoutError:
                # a signal ignored or blocked (inherited from this process) would explain it
                masks = {who: signal_masks(pid) for who, pid in (("app", app.pid), ("tests", 0))}
                app.send_signal(signal.SIGUSR1)  # the app writes where every task waits
                await asyncio.sleep(1)
                app.send_signal(signal.SIGQUIT)  # faulthandler writes where every thread is
                await asyncio.sleep(1)
                app.kill()  # faulthandler does not end the app: read its stderr once it is gone
                await app.wait()
                stderr = (await app.stderr.read()).decode() if app.stderr else ""
                raise AssertionError(
                    f"the app did not stop within 20 s ({masks}):\n{stderr}"
                ) from None
            rest = (await app.stdout.read()).decode()
            assert ari_app not in await ami.command(f"dialplan show {number}@{context}")
    finally:
        if app.returncode is None:
            app.kill()
            await app.wait()
    if signal_name == "SIGTERM":
        assert status == 0
    assert ("returned" in rest) == returns  # serve_forever returns on SIGTERM alone


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_the_next_instance_removes_what_a_killed_one_left(
    asterisk: SandboxSettings, tmp_path: Path, transport: str
) -> None:
    """SIGKILL runs no clean-up: the next server to register the number removes the dead
    instance's entries (its Stasis application gone, or its FastAGI port refusing)."""
    import signal
    import sys

    script = tmp_path / "app.py"
    script.write_text(APP)
    env = {**os.environ, **{k: v for k, v in asterisk.env().items() if v}}
    number, context = "2404", asterisk.call_context
    app = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "asyncio", number, transport,
        env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert app.stdout is not None
    try:
        dead_app, dead_port = (await asyncio.wait_for(app.stdout.readline(), 30)).split()
    finally:
        app.send_signal(signal.SIGKILL)
        await app.wait()
    async with AMIClient() as ami:

        async def entries() -> str:
            return await ami.command(f"dialplan show {number}@{context}")

        dead = dead_app.decode() if transport == "ari" else f":{dead_port.decode()}/call"
        for _ in range(50):  # Asterisk notices the dead websocket
            if transport == "agi" or dead not in await ami.command("ari show apps"):
                break
            await asyncio.sleep(0.1)
        assert dead in await entries()  # left behind
        async with Server(port=0) as server:
            await server.register_extension(number, call_handler=_never, transport=transport)
            shown = await entries()
            assert dead not in shown and shown.count("Gosub(asteramisk-take,") == 1
            mine = server.ari_app if transport == "ari" else f":{server.port}/call"
            assert mine in shown
        assert "asteramisk-take" not in await entries()
