"""How a Server for one Asterisk is put together: its connections, its FastAGI, speech and
AudioSocket servers, its numbers and its text dispatcher, all owned by one exit stack."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

from asteramisk.addresses import advertised_host, allowed_clients, listen_address
from asteramisk.agi import FastAGIServer
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.dialplan import Dialplan
from asteramisk.asterisk.sound_probe import sound_plays
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.calls import speech_timings
from asteramisk.config import Settings
from asteramisk.events import EventStream, Observable, reconnect_hook
from asteramisk.exceptions import ConfigurationError
from asteramisk.lifecycle import TaskSet
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.media.speech import Speech
from asteramisk.metrics import serve, watch
from asteramisk.registrations import Registration, Registrations, TextHandler
from asteramisk.text_dispatch import Send, TextDispatcher
from asteramisk.text_relay import acquire

__all__ = ["Started", "connect", "listen_address_of", "start_metrics"]


class Started:
    """What a started server has (one object, so nothing is half there)."""

    def __init__(
        self,
        settings: Settings,
        ami: AMIClient,
        agi: FastAGIServer,
        registrations: Registrations,
        texts: TextDispatcher,
        speech: Speech,
        audio: AudioSocketServer,
        ari: ARIClient | None,
    ) -> None:
        self.ari = ari
        self.settings, self.ami, self.agi = settings, ami, agi
        self.registrations, self.texts = registrations, texts
        self.speech, self.audio = speech, audio


async def connect(
    resources: contextlib.AsyncExitStack,
    settings: Settings,
    listen: tuple[str, int],
    *,
    ari_app: str,
    router: StasisRouter,
    events: EventStream,
    tasks: TaskSet,
    send: Send,
    handler_of: Callable[[Registration], TextHandler | None],
) -> Started:
    """Connect to AMI (and ARI), start the FastAGI, speech and AudioSocket servers; each is
    closed by ``resources``."""
    host, port = listen
    speech = Speech.from_settings(settings, http_host=host)  # checks TTS_* first
    ami = await resources.enter_async_context(AMIClient.from_settings(settings))
    advertise = speech.advertise_host = advertised_host(settings, host, ami.local_address)
    ari = None
    if settings.is_set("ASTERISK_ARI_USER") and settings.is_set("ASTERISK_ARI_PASS"):
        ari = await resources.enter_async_context(ARIClient.from_settings(settings, app=ari_app))
        ari.on_event("*", router.dispatch)
        ari.add_connect_hook(router.reconcile)
        ari.add_connect_hook(reconnect_hook(events, "ari"))
    agi = await _started_agi(host, port, advertise, allowed_clients(settings, host))
    resources.push_async_callback(agi.close, 0)
    speech.sound_check = functools.partial(sound_plays, ami)
    speech.on_timing = speech_timings(events)
    await resources.enter_async_context(speech)
    audio = AudioSocketServer.for_settings(settings, host, advertise)
    resources.push_async_callback(audio.close)
    registrations = Registrations(Dialplan(ami), settings, ari_app=ari_app, agi_url=agi.url)
    texts = TextDispatcher(
        registrations,
        settings,
        send=send,
        handler_of=handler_of,
        tasks=tasks,
        ami=ami,
        events=events,
    )
    relay = await acquire(settings)  # with REDIS_URL: texts shared with the other app hosts
    if relay is not None:
        resources.push_async_callback(relay.release)
        relay.takers.append(texts.take)
        resources.callback(relay.takers.remove, texts.take)
    return Started(settings, ami, agi, registrations, texts, speech, audio, ari)


def listen_address_of(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    """Check what a server needs of ``settings``; the host and port its FastAGI server
    listens on (``host``/``port`` when given; see :mod:`asteramisk.addresses`)."""
    settings.validate(
        "ASTERISK_HOST",
        "ASTERISK_AMI_PORT",
        "ASTERISK_AMI_USER",
        "ASTERISK_AMI_PASS",
        "ASTERISK_INCOMING_CALL_CONTEXT",
        "AGI_SERVER_HOST",
        "AGI_SERVER_PORT",
        "MAX_CONCURRENT_CALLS",
    )
    return listen_address(settings, host, port)


async def _started_agi(
    host: str, port: int, advertise: str, allowed: list[str] | None
) -> FastAGIServer:
    agi = FastAGIServer(host, port, advertise_host=advertise, allowed_clients=allowed)
    try:
        await agi.start()
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({exc.strerror}). Another program (or "
            "another instance of your app) has it: set AGI_SERVER_PORT to a free port."
        ) from None
    return agi


def start_metrics(
    source: Observable, resources: contextlib.AsyncExitStack, at: tuple[str, int | None]
) -> int | None:
    """Count ``source``'s events and serve them at ``at`` (host, port; no port: not at
    all); the port served on, closed by ``resources``."""
    host, port = at
    if port is None:
        return None
    resources.callback(watch(source))
    exposition = serve(port, host)
    resources.callback(exposition.close)
    return exposition.port
