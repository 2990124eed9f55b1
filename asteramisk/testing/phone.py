"""VirtualPhone: a caller for tests and demos, calling in through the simulated PSTN.

::

    async with VirtualPhone("5550100") as phone:
        call = await phone.call("1234567890")   # rings your app like a real caller would
        assert "world" in await call.hear()
        await call.press("7")
        await call.hangup()

The call leaves Asterisk on the PSTN trunk and comes back in on it (the sandbox's trunk points
at Asterisk itself), so your app sees an ordinary incoming SIP call with the phone's number as
caller ID. What the phone hears streams back in real time over AudioSocket to this process,
and ``hear()`` transcribes it offline with pocketsphinx. Asterisk connects to this process
where the app would listen (``AGI_SERVER_HOST``, told to Asterisk as the app's advertised
address), so the phone works with the remote sandbox too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from asteramisk.addresses import advertised_host
from asteramisk.asterisk.ami import AMIClient, Message
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.messaging import AMI_BODY_LIMIT, parse_number, send_message
from asteramisk.config import config
from asteramisk.exceptions import CallFailedException
from asteramisk.lifecycle import AsyncResource
from asteramisk.media.audiosocket import (
    KIND_AUDIO,
    KIND_DTMF,
    KIND_HANGUP,
    KIND_UUID,
    AudioSocketParser,
)
from asteramisk.media.format import FRAME_BYTES
from asteramisk.media.stt.worker import SpeechWorker
from asteramisk.testing.phone_call import IncomingCall, PhoneCall, microphone

__all__ = ["IncomingCall", "PhoneCall", "VirtualPhone"]

log = logging.getLogger(__name__)


class VirtualPhone(AsyncResource):
    """A phone with ``number`` that calls in through the simulated PSTN (see the module)."""

    def __init__(
        self,
        number: str = "5550100",
        name: str = "Virtual Phone",
        *,
        vocabulary: Iterable[str] | None = None,
    ) -> None:
        self.vocabulary = list(vocabulary) if vocabulary is not None else None
        self.number = number
        self.name = name
        self.ami = AMIClient()
        self.context = f"asteramisk-phone-{uuid.uuid4().hex[:8]}"
        self._calls: dict[str, PhoneCall] = {}
        self._answered: dict[str, asyncio.Future[str]] = {}
        self._listener: asyncio.Server | None = None
        self._streams: set[asyncio.Task[Any]] = set()
        self._stt = SpeechWorker()
        self._texts: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
        self._ringing: asyncio.Queue[IncomingCall] = asyncio.Queue()
        self._incoming: dict[str, IncomingCall] = {}
        self._ari: ARIClient | None = None
        self.last_text_from = ""
        self.last_text_length = 0
        """The size in bytes the last text had as it arrived over SIP (Asterisk's PJSIP
        drops the body of one of 1024 bytes or more, but not its Content-Length)."""

    def __repr__(self) -> str:
        return f"<VirtualPhone {self.number} calls={len(self._calls)}>"

    def add_call(self, call: PhoneCall) -> None:
        """Route the audio stream of ``call`` (by its id) to it."""
        self._calls[call.id] = call

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        """Transcribe 8 kHz audio in the phone's speech worker process.

        A process, not a thread: pocketsphinx holds the GIL while it decodes, which would
        stall this event loop (and the 20 ms audio pacing of every call) for seconds.
        """
        return await self._stt.transcribe(pcm, phrases)

    async def _open(self) -> None:
        await self.start()

    async def start(self) -> None:
        """Connect to AMI, listen for the audio, add the phone's dialplan."""
        await self.ami.connect()
        self.ami.on_event("UserEvent", self._on_user_event)
        self.ami.on_event("Hangup", self._on_hangup)
        await self.transcribe(bytes(FRAME_BYTES * 10), self.vocabulary)  # load the model now
        # Where the app listens, Asterisk can reach: the phone listens there too
        host = config.AGI_SERVER_HOST
        self._listener = await asyncio.start_server(self._on_stream, host, 0)
        port = self._listener.sockets[0].getsockname()[1]
        advertise = advertised_host(config.snapshot(), host, self.ami.local_address)
        steps = [
            ("Answer", ""),
            ("UserEvent", "AsteramiskPhone,PhoneId: ${PHONE_ID}"),
            ("AudioSocket", f"${{PHONE_ID}},{advertise}:{port}"),
        ]
        for priority, (app, data) in enumerate(steps, start=1):
            await self._add(self.context, "s", priority, app, data)
        # Texts to the phone's number: handed to us as an AMI UserEvent, in base64.
        inbox = [
            (
                "UserEvent",
                f"AsteramiskPhoneText,Phone: {self.number},"
                "From: ${BASE64_ENCODE(${MESSAGE(from)})},"
                "Body: ${BASE64_ENCODE(${MESSAGE(body)})},"
                "Length: ${MESSAGE_DATA(Content-Length)}",
            ),
            ("Hangup", ""),
        ]
        for priority, (app, data) in enumerate(inbox, start=1):
            await self._add(config.ASTERISK_INCOMING_TEXT_CONTEXT, self.number, priority, app, data)
        # Calls to the phone's number ring until the test answers, rejects or ignores them.
        ring = [
            (
                "UserEvent",
                f"AsteramiskPhoneRing,Phone: {self.number},"
                "CallerNumber: ${BASE64_ENCODE(${CALLERID(num)})},"
                "CallerName: ${BASE64_ENCODE(${CALLERID(name)})}",
            ),
            ("Ringing", ""),
            ("Wait", "600"),
        ]
        for priority, (app, data) in enumerate(ring, start=1):
            await self._add(config.ASTERISK_INCOMING_CALL_CONTEXT, self.number, priority, app, data)

    async def _add(self, context: str, exten: str, priority: int, app: str, data: str) -> None:
        await self.ami.action(
            {
                "Action": "DialplanExtensionAdd",
                "Context": context,
                "Extension": exten,
                "Priority": str(priority),
                "Application": app,
                "ApplicationData": data,
                "Replace": "yes",
            }
        )

    async def send_text(self, number: str, body: str) -> None:
        """Text ``body`` to ``number`` through the PSTN trunk, from the phone's number."""
        ari = None
        if len(base64.b64encode(body.encode())) > AMI_BODY_LIMIT:
            if self._ari is None:
                self._ari = ARIClient(app=f"{self.context}-texts")
                await self._ari.connect()
            ari = self._ari
        await send_message(
            self.ami, ari, number, self.number, body, settings=config, from_name=self.name
        )

    async def receive_text(self, timeout: float = 15.0) -> str:
        """The next text that arrived for the phone (its sender in ``last_text_from``)."""
        async with asyncio.timeout(timeout):
            sender, body, length = await self._texts.get()
        self.last_text_from = sender
        self.last_text_length = length
        return body

    async def incoming_call(self, timeout: float = 15.0) -> IncomingCall:
        """The next call ringing at the phone's number (placed by your app)."""
        async with asyncio.timeout(timeout):
            return await self._ringing.get()

    def _on_user_event(self, event: Message) -> None:
        if event.get("UserEvent") == "AsteramiskPhoneRing" and event.get("Phone") == self.number:
            channel = str(event.get("Channel", ""))
            incoming = IncomingCall(
                self,
                channel,
                base64.b64decode(str(event.get("CallerNumber", ""))).decode("utf-8", "replace"),
                base64.b64decode(str(event.get("CallerName", ""))).decode("utf-8", "replace"),
            )
            self._incoming[channel] = incoming
            self._ringing.put_nowait(incoming)
            return
        if event.get("UserEvent") == "AsteramiskPhoneText" and event.get("Phone") == self.number:
            sender = base64.b64decode(str(event.get("From", ""))).decode("utf-8", "replace")
            body = base64.b64decode(str(event.get("Body", ""))).decode("utf-8", "replace")
            length = str(event.get("Length", ""))
            self._texts.put_nowait((parse_number(sender), body, int(length or 0)))
            return
        if event.get("UserEvent") != "AsteramiskPhone":
            return
        phone_id = str(event.get("PhoneId", ""))
        call = self._calls.get(phone_id)
        if call is not None:
            # Set here, not when call() resumes: the Hangup event of a call the app ends at
            # once may come before that, and it must find the channel.
            call.channel = str(event.get("Channel", ""))
        future = self._answered.get(phone_id)
        if future is not None and not future.done():
            future.set_result(str(event.get("Channel", "")))

    def _on_hangup(self, event: Message) -> None:
        channel = event.get("Channel", "")
        incoming = self._incoming.pop(str(channel), None)
        if incoming is not None:
            incoming.ended.set()
        for call in self._calls.values():
            if call.channel and call.channel == channel:
                call.ended.set()

    async def _on_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        parser = AudioSocketParser()
        call: PhoneCall | None = None
        loop = asyncio.get_running_loop()
        pacer: asyncio.Task[None] | None = None
        try:
            while data := await reader.read(65536):
                for frame in parser.feed(data):
                    if frame.kind == KIND_UUID:
                        call = self._calls.get(frame.uuid)
                        pacer = asyncio.create_task(microphone(writer, call))
                    elif frame.kind == KIND_AUDIO and call is not None:
                        call.on_audio(frame.payload, loop.time())
                    elif frame.kind == KIND_DTMF and call is not None:
                        call.keys_received += frame.payload.decode("ascii", "replace")
                    elif frame.kind == KIND_HANGUP:
                        return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if pacer is not None:
                pacer.cancel()
            if call is not None:
                call.ended.set()
            writer.close()
            if task is not None:
                self._streams.discard(task)

    async def call(self, number: str, *, timeout: float = 30.0) -> PhoneCall:
        """Dial ``number`` through the PSTN trunk; return the call once it is answered.

        Raises :class:`CallFailedException` if it is not answered within ``timeout`` s.
        """
        call_id = str(uuid.uuid4())
        call = PhoneCall(self, call_id)
        self.add_call(call)
        answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._answered[call_id] = answered
        try:
            response = await self.ami.action(
                {
                    "Action": "Originate",
                    "Channel": f"PJSIP/{number}@{config.ASTERISK_PSTN_ENDPOINT}",
                    "Context": self.context,
                    "Exten": "s",
                    "Priority": "1",
                    "CallerID": f'"{self.name}" <{self.number}>',
                    "Timeout": str(int(timeout * 1000)),
                    "Variable": f"PHONE_ID={call_id}",
                    "Async": "true",
                },
                timeout=timeout + 5,
                check=False,
            )
            final = response[-1] if isinstance(response, list) else response
            if final.get("Response") != "Success" and not answered.done():
                reason = str(final.get("Reason", ""))
                del self._calls[call_id]
                raise CallFailedException(
                    f"The call to {number} was not answered (reason {reason or '?'})",
                    cause=int(reason) if reason.isdigit() else None,
                )
            async with asyncio.timeout(10):
                call.channel = await answered
        finally:
            self._answered.pop(call_id, None)
        return call

    async def close(self) -> None:
        """Hang up every call still up, remove the dialplan, disconnect."""
        for call in list(self._calls.values()):
            if not call.ended.is_set() and call.channel:
                with contextlib.suppress(Exception):
                    await call.hangup()
        if self._listener is not None:
            self._listener.close()
        for task in list(self._streams):
            task.cancel()
        await asyncio.gather(*self._streams, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.ami.action(
                {"Action": "Command", "Command": f"dialplan remove context {self.context}"},
                check=False,
            )
            for context in (
                config.ASTERISK_INCOMING_TEXT_CONTEXT,
                config.ASTERISK_INCOMING_CALL_CONTEXT,
            ):
                await self.ami.action(
                    {
                        "Action": "DialplanExtensionRemove",
                        "Context": context,
                        "Extension": self.number,
                    },
                    check=False,
                )
        await self.ami.close()
        await self._stt.close()
        if self._ari is not None:
            await self._ari.close()
