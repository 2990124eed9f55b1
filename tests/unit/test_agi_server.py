"""The FastAGI server under fault injection: a protocol-level fake Asterisk on loopback."""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from asteramisk.agi import AGI, FastAGIServer, core


class FakeAsterisk:
    """Connects like Asterisk's AGI(): sends the environment, answers commands line by line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.commands: list[bytes] = []

    @classmethod
    async def call(cls, port: int, script: str = "test", **env: str) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = ["agi_network: yes", f"agi_network_script: {script}", "agi_channel: Fake/1-0001"]
        lines += [f"agi_{k}: {v}" for k, v in env.items()]
        writer.write(("\n".join(lines) + "\n\n").encode())
        await writer.drain()
        return cls(reader, writer)

    async def expect(self, command: bytes, answer: bytes) -> None:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        assert line == command
        self.commands.append(line)
        self.writer.write(answer)
        await self.writer.drain()

    async def nothing_sent(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            line = await asyncio.wait_for(self.reader.readline(), seconds)
            raise AssertionError(f"the server sent {line!r}")

    async def closed_by_server(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 5) == b""


@pytest.fixture
async def server() -> FastAGIServer:
    srv = FastAGIServer(port=0)
    await srv.start()
    yield srv  # type: ignore[misc]
    await srv.close(grace=1)
    assert srv.calls == 0


async def test_env_args_query_and_a_command(server: FastAGIServer) -> None:
    seen: dict[str, object] = {}

    async def handler(agi: AGI) -> None:
        seen["args"], seen["query"], seen["route"] = agi.args, agi.query, agi.route
        seen["value"] = await agi.execute(core.GetVariable("X"))

    server.add_route("menu", handler)
    fake = await FakeAsterisk.call(server.port, "menu?lang=fr&x=1", arg_1="a b", arg_2="c")
    await fake.expect(b"GET VARIABLE X\n", b"200 result=1 (hello world)\n")
    assert await fake.closed_by_server()
    assert seen == {
        "args": ["a b", "c"],
        "query": {"lang": "fr", "x": "1"},
        "route": "menu",
        "value": "hello world",
    }


async def test_unknown_route_is_closed_and_logged(
    server: FastAGIServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake = await FakeAsterisk.call(server.port, "nowhere")
    assert await fake.closed_by_server()
    assert "no route 'nowhere'" in caplog.text


async def test_handler_that_raises_does_not_touch_other_calls(
    server: FastAGIServer, caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()

    async def bad(agi: AGI) -> None:
        raise RuntimeError("boom")

    async def good(agi: AGI) -> None:
        await release.wait()
        assert await agi.execute(core.Noop()) is None

    server.add_route("bad", bad)
    server.add_route("good", good)
    survivor = await FakeAsterisk.call(server.port, "good")
    victims = [await FakeAsterisk.call(server.port, "bad") for _ in range(5)]
    for victim in victims:
        assert await victim.closed_by_server()
    assert caplog.text.count("RuntimeError: boom") == 5
    release.set()
    await survivor.expect(b"NOOP\n", b"200 result=0\n")
    assert await survivor.closed_by_server()


async def test_a_handler_that_is_not_async_is_refused_and_logged(
    server: FastAGIServer, caplog: pytest.LogCaptureFixture
) -> None:
    def not_async(agi: AGI) -> None:  # a plain function: nothing to await
        pass

    server.add_route("sync", not_async)  # type: ignore[arg-type]
    fake = await FakeAsterisk.call(server.port, "sync")
    assert await fake.closed_by_server()
    assert "handler for route 'sync' did not start" in caplog.text
    assert "awaitable is required" in caplog.text


async def test_hangup_line_makes_the_next_execute_raise(server: FastAGIServer) -> None:
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(agi: AGI) -> None:
        await agi.execute(core.Answer())
        try:
            await agi.execute(core.StreamFile("beep"))
        except BaseException as exc:
            outcome.set_result(exc)
            raise

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    await fake.expect(b"ANSWER\n", b"200 result=0\nHANGUP\n")
    assert isinstance(await outcome, core.AGIResultHangup)
    assert fake.commands == [b"ANSWER\n"]  # nothing was sent after the hangup


async def _stream_file_outcome(server: FastAGIServer, answer: bytes) -> BaseException:
    """What ``STREAM FILE`` raises in the handler when Asterisk answers ``answer``."""
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(agi: AGI) -> None:
        try:
            await agi.execute(core.StreamFile("beep"))
        except BaseException as exc:
            outcome.set_result(exc)

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    await fake.expect(b'STREAM FILE beep "" 0\n', answer)
    return await asyncio.wait_for(outcome, 5)


async def test_dead_channel_after_hangup_is_a_hangup(server: FastAGIServer) -> None:
    answer = b"HANGUP\n511 Command Not Permitted on a dead channel or intercepted channel\n"
    assert isinstance(await _stream_file_outcome(server, answer), core.AGIResultHangup)


async def test_failure_that_comes_with_a_hangup_is_a_hangup(server: FastAGIServer) -> None:
    """``result=-1`` and ``HANGUP`` in one read: the caller hung up, not a failed command."""
    answer = b"200 result=-1 endpos=0\nHANGUP\n"
    assert isinstance(await _stream_file_outcome(server, answer), core.AGIResultHangup)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"510 Invalid or unknown command\n", core.AGIInvalidCommandError),
        (
            b"511 Command Not Permitted on a dead channel or intercepted channel\n",
            core.AGIDeadChannelError,
        ),
        (
            b"520-Invalid command syntax.  Proper usage follows:\n"
            b"Usage: X\n520 End of proper usage.\n",
            core.AGIUsageError,
        ),
        (b"299 who knows\n", core.AGIUnknownError),
        (b"200 nothing here\n", core.AGINoResultError),
        (b"200 result=abc\n", core.AGIUnknownError),  # a plain answer, read the fast way
        (b"200 result=-1\n", core.AGIAppError),
    ],
)
async def test_error_codes(server: FastAGIServer, answer: bytes, error: type[Exception]) -> None:
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(agi: AGI) -> None:
        try:
            await agi.execute(core.Noop())
        except BaseException as exc:
            outcome.set_result(exc)

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    await fake.expect(b"NOOP\n", answer)
    assert isinstance(await outcome, error)


async def test_connection_closed_mid_command_is_sigpipe(server: FastAGIServer) -> None:
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(agi: AGI) -> None:
        try:
            await agi.execute(core.WaitForDigit(5000))
        except BaseException as exc:
            outcome.set_result(exc)

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    await asyncio.wait_for(fake.reader.readline(), 5)
    fake.writer.close()
    assert isinstance(await outcome, core.AGISIGPIPEHangup)


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n", b"x" * 70000],
)
async def test_garbage_instead_of_agi_closes_only_that_connection(
    server: FastAGIServer, garbage: bytes
) -> None:
    calls = 0

    async def handler(agi: AGI) -> None:
        nonlocal calls
        calls += 1

    server.add_route("test", handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(garbage)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    fake = await FakeAsterisk.call(server.port)
    assert await fake.closed_by_server()
    assert calls == 1


async def test_allow_list_refuses_other_addresses(caplog: pytest.LogCaptureFixture) -> None:
    async with FastAGIServer(port=0, allowed_clients=["10.0.0.0/8"]) as srv:
        srv.add_route("test", lambda agi: asyncio.sleep(0))
        fake = await FakeAsterisk.call(srv.port)
        assert await fake.closed_by_server()
    assert "not in allowed_clients" in caplog.text
    async with FastAGIServer(port=0, allowed_clients=["127.0.0.1"]) as srv:
        ran = asyncio.Event()

        async def handler(agi: AGI) -> None:
            ran.set()

        srv.add_route("test", handler)
        await FakeAsterisk.call(srv.port)
        await asyncio.wait_for(ran.wait(), 5)


async def test_binds_loopback_by_default() -> None:
    srv = FastAGIServer(port=0)
    assert srv.host == "127.0.0.1"


def _connections_made(port: int, count: int, wait: float) -> int:
    """Open ``count`` connections at once; how many the kernel completes within ``wait``."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets.append(sock)
        pending, made, deadline = list(sockets), 0, time.monotonic() + wait
        while pending and time.monotonic() < deadline:
            _readable, writable, _ = select.select([], pending, [], 0.05)
            for sock in writable:
                pending.remove(sock)
                made += sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        return made
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize(("backlog", "burst"), [(1024, 300), (20, 100)])
async def test_a_burst_of_calls_waits_in_the_backlog_while_the_server_is_busy(
    backlog: int, burst: int
) -> None:
    """300 calls arrive while the event loop is busy (the connections are opened from a
    thread while the loop is blocked): all of them are queued, none waits a second for a
    retry. With a backlog too small, the calls beyond it are not connected (the check that
    this test can fail)."""
    srv = FastAGIServer(port=0, backlog=backlog)
    await srv.start()
    try:
        with ThreadPoolExecutor(1) as pool:
            made = pool.submit(_connections_made, srv.port, burst, 0.5).result()  # blocks the loop
        if backlog >= burst:
            assert made == burst
        else:
            assert made <= backlog + 2
    finally:
        await srv.close(grace=1)


async def test_close_lets_handlers_finish_then_cancels_and_leaves_no_task() -> None:
    srv = FastAGIServer(port=0)
    await srv.start()
    finished, cancelled = asyncio.Event(), asyncio.Event()

    async def quick(agi: AGI) -> None:
        await asyncio.sleep(0.1)
        finished.set()

    async def stuck(agi: AGI) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    srv.add_route("quick", quick)
    srv.add_route("stuck", stuck)
    await FakeAsterisk.call(srv.port, "quick")
    await FakeAsterisk.call(srv.port, "stuck")
    await asyncio.sleep(0.05)
    assert srv.calls == 2
    before = len(asyncio.all_tasks())
    await srv.close(grace=0.5)
    assert finished.is_set() and cancelled.is_set()
    assert srv.calls == 0
    assert len(asyncio.all_tasks()) <= before - 2
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", srv.port)


async def test_many_calls_at_once(server: FastAGIServer) -> None:
    async def handler(agi: AGI) -> None:
        for _ in range(10):
            assert await agi.execute(core.GetVariable("N")) == agi.env["agi_uniqueid"]

    server.add_route("test", handler)

    async def one(n: int) -> None:
        fake = await FakeAsterisk.call(server.port, uniqueid=str(n))
        for _ in range(10):
            await fake.expect(b"GET VARIABLE N\n", f"200 result=1 ({n})\n".encode())
        assert await fake.closed_by_server()

    await asyncio.gather(*(one(n) for n in range(200)))


async def test_injection_through_a_callers_text_is_refused(server: FastAGIServer) -> None:
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(agi: AGI) -> None:
        try:
            await agi.execute(core.SetVariable("NAME", "Bob\nHANGUP"))
        except BaseException as exc:
            outcome.set_result(exc)
        await agi.execute(core.Noop())

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert isinstance(await outcome, ValueError)
    await fake.expect(b"NOOP\n", b"200 result=0\n")  # the next line is NOOP: nothing injected
    logging.getLogger(__name__).debug("done")


def test_works_on_uvloop() -> None:
    """The library uses uvloop when installed: the server must accept its transports."""
    import uvloop

    async def session() -> str | None:
        async with FastAGIServer(port=0) as srv:
            result: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

            async def handler(agi: AGI) -> None:
                result.set_result(await agi.execute(core.GetVariable("X")))

            srv.add_route("test", handler)
            fake = await FakeAsterisk.call(srv.port)
            await fake.expect(b"GET VARIABLE X\n", b"200 result=1 (on uvloop)\n")
            return await asyncio.wait_for(result, 5)

    assert uvloop.run(session()) == "on uvloop"


async def test_commands_from_two_tasks_get_their_own_answers(server: FastAGIServer) -> None:
    values: dict[str, str | None] = {}

    async def handler(agi: AGI) -> None:
        async def get(name: str) -> None:
            values[name] = await agi.execute(core.GetVariable(name))

        await asyncio.gather(get("A"), get("B"), get("C"))

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    for name in "ABC":
        await fake.expect(f"GET VARIABLE {name}\n".encode(), f"200 result=1 ({name}!)\n".encode())
    assert await fake.closed_by_server()
    assert values == {"A": "A!", "B": "B!", "C": "C!"}


async def test_the_answer_to_a_cancelled_command_is_dropped(server: FastAGIServer) -> None:
    """A handler gives up waiting on a command Asterisk runs to its end: the next command
    is sent once its answer came, and that answer is not taken for the next command's."""
    values: list[str | None] = []

    async def handler(agi: AGI) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(agi.execute(core.GetVariable("SLOW")), 0.05)
        values.append(await agi.execute(core.GetVariable("NEXT")))

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert await asyncio.wait_for(fake.reader.readline(), 5) == b"GET VARIABLE SLOW\n"
    await fake.nothing_sent(0.2)  # NEXT waits: Asterisk still runs SLOW
    fake.writer.write(b"200 result=1 (slow)\n")
    await fake.expect(b"GET VARIABLE NEXT\n", b"200 result=1 (next)\n")
    assert await fake.closed_by_server()
    assert values == ["next"]


async def test_commands_of_several_tasks_go_one_at_a_time(server: FastAGIServer) -> None:
    """A command line that reaches Asterisk while STREAM FILE runs stops it: the server
    sends the next command only once the one before has its answer."""
    values: list[object] = []

    async def handler(agi: AGI) -> None:
        values.extend(
            await asyncio.gather(
                agi.execute(core.StreamFile("welcome", "#")),
                agi.execute(core.GetVariable("A")),
                agi.execute(core.WaitForDigit(1000)),
            )
        )

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert await asyncio.wait_for(fake.reader.readline(), 5) == b"STREAM FILE welcome # 0\n"
    await fake.nothing_sent(0.2)
    fake.writer.write(b"200 result=35 endpos=8000\n")
    await fake.expect(b"GET VARIABLE A\n", b"200 result=1 (a)\n")
    await fake.expect(b"WAIT FOR DIGIT 1000\n", b"200 result=0\n")
    assert await fake.closed_by_server()
    assert values == [("#", 8000), "a", None]


@pytest.mark.parametrize(
    ("stopped_answers", "what"),
    [
        (b"", "STREAM FILE stopped by the next command sends no answer"),
        (b"200 result=0 endpos=4000\n", "it had ended: its answer comes first"),
    ],
)
async def test_a_cancelled_stream_file_is_stopped_and_its_answer_never_misread(
    server: FastAGIServer, stopped_answers: bytes, what: str
) -> None:
    values: list[str | None] = []

    async def handler(agi: AGI) -> None:
        playing = asyncio.ensure_future(agi.execute(core.StreamFile("long-prompt")))
        await asyncio.sleep(0.05)
        playing.cancel()
        values.append(await agi.execute(core.GetVariable("NEXT")))

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert await asyncio.wait_for(fake.reader.readline(), 5) == b'STREAM FILE long-prompt "" 0\n'
    # the server stops it at once, with a command whose answer it can tell apart
    await fake.expect(
        b"GET FULL VARIABLE asteramisk-stop\n",
        stopped_answers + b"200 result=1 (asteramisk-stop)\n",
    )
    await fake.expect(b"GET VARIABLE NEXT\n", b"200 result=1 (next)\n")
    assert await fake.closed_by_server()
    assert values == ["next"]


async def test_a_cancelled_wait_for_digit_is_stopped_and_its_1_is_no_key(
    server: FastAGIServer,
) -> None:
    """Stopped, WAIT FOR DIGIT answers result=1 (no key): that answer is dropped."""
    values: list[str | None] = []

    async def handler(agi: AGI) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(agi.execute(core.WaitForDigit(-1)), 0.05)
        values.append(await agi.execute(core.WaitForDigit(100)))

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert await asyncio.wait_for(fake.reader.readline(), 5) == b"WAIT FOR DIGIT -1\n"
    await fake.expect(
        b"GET FULL VARIABLE asteramisk-stop\n",
        b"200 result=1\n200 result=1 (asteramisk-stop)\n",
    )
    await fake.expect(b"WAIT FOR DIGIT 100\n", b"200 result=53\n")
    assert await fake.closed_by_server()
    assert values == ["5"]


async def test_after_a_hangup_a_cancelled_stream_file_is_not_stopped(
    server: FastAGIServer,
) -> None:
    """The hangup ends it, with an answer of its own: a stop command would be answered 511
    on the dead channel, and never with the token that tells the answers apart."""

    async def handler(agi: AGI) -> None:
        playing = asyncio.ensure_future(agi.execute(core.StreamFile("welcome")))
        while not agi.hung_up:
            await asyncio.sleep(0.01)
        playing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await playing
        with pytest.raises(core.AGIResultHangup):
            await agi.execute(core.Noop())

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert await asyncio.wait_for(fake.reader.readline(), 5) == b'STREAM FILE welcome "" 0\n'
    fake.writer.write(b"HANGUP\n")
    assert await fake.closed_by_server()  # the handler ended, and nothing was sent


async def test_commands_queued_when_the_caller_hangs_up_raise_the_hangup(
    server: FastAGIServer,
) -> None:
    outcomes: list[object] = []

    async def handler(agi: AGI) -> None:
        outcomes.extend(
            await asyncio.gather(
                agi.execute(core.StreamFile("welcome")),
                agi.execute(core.GetVariable("A")),
                return_exceptions=True,
            )
        )

    server.add_route("test", handler)
    fake = await FakeAsterisk.call(server.port)
    assert await asyncio.wait_for(fake.reader.readline(), 5) == b'STREAM FILE welcome "" 0\n'
    fake.writer.write(b"HANGUP\n200 result=-1 endpos=1200\n")
    assert await fake.closed_by_server()  # GET VARIABLE never sent
    assert isinstance(outcomes[0], core.AGIResultHangup)
    assert isinstance(outcomes[1], core.AGIResultHangup)


def test_run_uses_uvloop_when_installed() -> None:
    import uvloop

    import asteramisk

    async def loop_type() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert asteramisk.run(loop_type()).startswith("uvloop")
    assert uvloop is not None


async def test_serve_forever_passes_a_cancellation_on_and_returns_when_closed() -> None:
    server = FastAGIServer(port=0)
    serving = asyncio.ensure_future(server.serve_forever())
    await asyncio.sleep(0.05)
    serving.cancel()  # Ctrl-C under asyncio.run: the cancellation is not swallowed
    with pytest.raises(asyncio.CancelledError):
        await serving
    await server.close()
    again = FastAGIServer(port=0)
    serving = asyncio.ensure_future(again.serve_forever())
    await asyncio.sleep(0.05)
    await again.close()
    await asyncio.wait_for(serving, 5)  # closed: it returns


async def test_a_connection_that_sends_no_environment_is_not_held() -> None:
    async with FastAGIServer(port=0, environment_timeout=0.2) as server:
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(20)]
        await asyncio.sleep(0.05)
        assert len(server._sessions) == 20
        for reader, writer in idle:
            assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
            writer.close()
        assert server.idle_closed == 20 and not server._sessions
