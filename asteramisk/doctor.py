"""``python -m asteramisk doctor``: check a real setup, and say how to fix what is wrong.

Checks, in order (a failure stops the checks that depend on it): the configuration, the AMI
login, ARI and the http server, TLS (credentials never cross a network in clear text), the
incoming contexts, Asterisk reaching our FastAGI server (a test call through a ``Local/``
channel), Asterisk reaching our AudioSocket server on that call (prompts by voice, agents),
and a synthesised sentence playing on it (Asterisk finds the speech where ``TTS_DELIVERY``
puts it: a file it reads, or our media server's URL). Each failure is printed with the
file and the line to change.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from asteramisk.addresses import advertised_host, allowed_clients, is_loopback
from asteramisk.agi import AGI, FastAGIServer, core
from asteramisk.asterisk.agi_control import AGIControl
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.dialplan import Dialplan
from asteramisk.asterisk.sound_probe import sound_plays
from asteramisk.config import config
from asteramisk.exceptions import (
    ActionError,
    AsteramiskException,
    AuthenticationError,
    ConfigurationError,
    PlaybackError,
)
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.media.speech import Speech

__all__ = ["Check", "run_doctor", "tls_check"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


def run_doctor(out: Callable[[str], None] = print) -> int:
    """Run every check, print them, return the exit status (0: all passed)."""
    checks = asyncio.run(_checks())
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        out(f"[{mark}] {check.name}" + (f": {check.detail}" if check.detail else ""))
        if not check.ok and check.fix:
            for line in check.fix.splitlines():
                out(f"       fix: {line}")
    failed = [check for check in checks if not check.ok]
    out(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    if not failed:
        for line in SEEING.splitlines():
            out(line)
    return 1 if failed else 0


SEEING = """\
To see what your app does (docs/observability.rst):
  logs:    each line of a call carries its call id, with asteramisk.logs.FORMAT as the
           format and asteramisk.logs.CallIdFilter() on the handler: '[<call id>] ...'
  events:  async for event in server.events(): started, answered, ended (cause, who hung up,
           duration), texts, agent turns; make_call(..., on_status=...) for an outgoing call
  metrics: Server.create(..., metrics_port=9464) serves Prometheus metrics at
           http://127.0.0.1:9464/metrics (pip install 'asteramisk[metrics]')
  traces:  asteramisk.tracing.trace(server) makes a span per call and per verb
           (pip install 'asteramisk[tracing]')"""
"""What a passing doctor prints last: where to look next."""


async def _checks() -> list[Check]:
    checks: list[Check] = []
    try:
        config.validate(
            "ASTERISK_HOST",
            "ASTERISK_AMI_PORT",
            "ASTERISK_AMI_USER",
            "ASTERISK_AMI_PASS",
            "ASTERISK_ARI_PORT",
            "ASTERISK_INCOMING_CALL_CONTEXT",
            "ASTERISK_INCOMING_TEXT_CONTEXT",
            "AGI_SERVER_HOST",
            "AGI_SERVER_PORT",
        )
        config.validate()
    except ConfigurationError as exc:
        checks.append(Check("configuration", False, str(exc)))
        return checks
    checks.append(Check("configuration", True, f"Asterisk at {config.ASTERISK_HOST}"))

    ami = AMIClient()
    try:
        await ami.connect()
    except AuthenticationError as exc:
        checks.append(
            Check(
                "AMI login",
                False,
                str(exc),
                fix=(
                    f"/etc/asterisk/manager.d/{config.ASTERISK_AMI_USER}.conf: a section "
                    f"[{config.ASTERISK_AMI_USER}] with `secret = <ASTERISK_AMI_PASS>`, "
                    "read = all, write = all, and `permit` for this host; then "
                    "`manager reload`."
                ),
            )
        )
        return checks
    except AsteramiskException as exc:
        checks.append(
            Check(
                "AMI login",
                False,
                str(exc),
                fix=(
                    "/etc/asterisk/manager.conf, [general]: `enabled = yes`, "
                    f"`port = {config.ASTERISK_AMI_PORT}`, and a `bindaddr` this host can reach."
                ),
            )
        )
        return checks
    try:
        version = await ami.command("core show version")
        checks.append(Check("AMI login", True, version.strip().split(" built")[0]))
        checks.append(await _ari_check())
        checks.append(
            tls_check(ami.host, ami.tls, config.ASTERISK_ARI_TLS, config.ASTERISK_TLS_CA_FILE)
        )
        for name in ("ASTERISK_INCOMING_CALL_CONTEXT", "ASTERISK_INCOMING_TEXT_CONTEXT"):
            checks.append(await _context_check(ami, name))
        checks += await _agi_check(ami)
    finally:
        await ami.close()
    return checks


async def _ari_check() -> Check:
    if not (config.is_set("ASTERISK_ARI_USER") and config.is_set("ASTERISK_ARI_PASS")):
        return Check(
            "ARI",
            False,
            "ASTERISK_ARI_USER / ASTERISK_ARI_PASS are not set",
            fix=(
                "set config.ASTERISK_ARI_USER and config.ASTERISK_ARI_PASS (or export them); "
                "calls can still be served with transport='agi'."
            ),
        )
    ari = ARIClient()
    try:
        await ari.connect()
        info = await ari.request("asterisk", "getInfo")
        return Check(
            "ARI and the http server",
            True,
            f"app {ari.app!r} subscribed, Asterisk {info['system']['version']}",
        )
    except AuthenticationError as exc:
        return Check(
            "ARI and the http server",
            False,
            str(exc),
            fix=(
                f"/etc/asterisk/ari.conf: a section [{config.ASTERISK_ARI_USER}] with "
                "`type = user`, `read_only = no`, `password = <ASTERISK_ARI_PASS>`."
            ),
        )
    except AsteramiskException as exc:
        return Check(
            "ARI and the http server",
            False,
            str(exc),
            fix=(
                "/etc/asterisk/http.conf, [general]: `enabled = yes`, `bindaddr`, "
                f"`bindport = {config.ASTERISK_ARI_PORT}`; /etc/asterisk/ari.conf, [general]: "
                "`enabled = yes`. Both are off by default."
            ),
        )
    finally:
        await ari.close()


def tls_check(host: str, ami_tls: bool, ari_tls: bool, ca_file: str = "") -> Check:
    """Credentials cross a network only over TLS (doctor runs it once the AMI and ARI logins
    have worked, so a certificate in use was verified)."""
    plain = [link for link, tls in (("AMI", ami_tls), ("ARI", ari_tls)) if not tls]
    if plain and not is_loopback(host):
        return Check(
            "TLS",
            False,
            f"{' and '.join(plain)} credentials go to {host} in clear text",
            fix=(
                "manager.conf and http.conf [general]: tlsenable = yes, tlsbindaddr, "
                "tlscertfile, tlsprivatekey; here ASTERISK_AMI_TLS=yes, ASTERISK_ARI_TLS=yes, "
                "their TLS ports, and ASTERISK_TLS_CA_FILE unless the system trusts Asterisk's "
                "certificate (docs/security.rst)."
            ),
        )
    if plain:
        return Check("TLS", True, "not needed: Asterisk is on this machine (loopback)")
    trusted = ca_file or "the system's CAs"
    return Check("TLS", True, f"AMI and ARI over TLS, Asterisk's certificate verified ({trusted})")


async def _context_check(ami: AMIClient, name: str) -> Check:
    context = getattr(config, name)
    output = await ami.command(f"dialplan show {context}")
    if "There is no existence" in output or f"Context '{context}'" not in output:
        return Check(
            f"context {context} ({name})",
            False,
            "not in the dialplan",
            fix=(
                f"/etc/asterisk/extensions.conf: add a [{context}] context (see "
                "example_configs/extensions.conf), and set `context =` / `message_context =` of "
                "your PSTN endpoint in pjsip.conf to it; then `dialplan reload`."
            ),
        )
    return Check(f"context {context} ({name})", True)


async def _agi_check(ami: AMIClient) -> list[Check]:
    settings = config.snapshot()
    advertise = advertised_host(settings, settings.AGI_SERVER_HOST, ami.local_address)
    name = f"Asterisk reaches our FastAGI server ({advertise}:{settings.AGI_SERVER_PORT})"
    reached: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    streamed: asyncio.Future[Check] = asyncio.get_running_loop().create_future()
    spoken: asyncio.Future[Check] = asyncio.get_running_loop().create_future()

    async def handler(agi: AGI) -> None:
        value = await agi.execute(core.GetVariable("CHANNEL"))
        if not reached.done():
            reached.set_result(value or "")
        for result, check, title in (
            (streamed, _audiosocket_check, "Asterisk reaches our AudioSocket server"),
            (spoken, _speech_check, "synthesised speech plays"),
        ):
            try:
                result.set_result(await check(agi, ami, advertise))
            except Exception as exc:  # whatever stopped it is the check's answer
                result.set_result(Check(title, False, repr(exc)))

    server = FastAGIServer(
        settings.AGI_SERVER_HOST,
        settings.AGI_SERVER_PORT,
        advertise_host=advertise,
        allowed_clients=allowed_clients(settings, settings.AGI_SERVER_HOST),
    )
    server.add_route("doctor", handler)
    try:
        await server.start()
    except OSError as exc:
        return [
            Check(
                name,
                False,
                f"cannot listen: {exc.strerror}",
                fix=(
                    "another program (or your app) uses AGI_SERVER_PORT: stop it for the "
                    "check, or set AGI_SERVER_PORT to a free port."
                ),
            )
        ]
    context = f"asteramisk-doctor-{uuid.uuid4().hex[:6]}"
    try:
        await Dialplan(ami).put(context, "s", [("AGI", server.url("doctor"))])
        await ami.action(
            {
                "Action": "Originate",
                "Channel": f"Local/s@{context}/n",
                "Application": "Wait",
                "Data": "20",  # long enough to synthesise and play the test sentence
                "Async": "true",
            },
            as_list=False,
        )
        async with asyncio.timeout(10):
            channel = await reached
        later = []
        for result, title in (
            (streamed, "Asterisk reaches our AudioSocket server"),
            (spoken, "synthesised speech plays"),
        ):
            try:
                async with asyncio.timeout(30):
                    later.append(await result)
            except TimeoutError:
                later.append(Check(title, False, "the test call ended first"))
        return [Check(name, True, f"test call {channel}"), *later]
    except TimeoutError:
        return [
            Check(
                name,
                False,
                "no AGI connection came within 10 s",
                fix=(
                    f"Asterisk was told to connect to {advertise}: that must be an address "
                    "of this machine Asterisk can reach (127.0.0.1 when Asterisk runs here; "
                    "set ASTERAMISK_ADVERTISE_HOST, or bind AGI_SERVER_HOST to it), with "
                    "AGI_SERVER_PORT open in the firewall."
                ),
            )
        ]
    finally:
        await server.close(grace=1)
        await Dialplan(ami).drop_context(context)


async def _audiosocket_check(agi: AGI, ami: AMIClient, advertise: str) -> Check:
    """Stream the test call's audio to an AudioSocket server, as a prompt by voice or an agent
    does: Asterisk must reach its address (``advertise``, a port of its own)."""
    settings = config.snapshot()
    audio = AudioSocketServer(settings.AGI_SERVER_HOST, advertise_host=advertise)
    control = AGIControl(agi, settings.ASTERISK_PSTN_ENDPOINT, audio=audio)
    try:
        await agi.execute(core.Answer())  # AudioSocket() refuses a channel not answered
        await control.listen()
    except ActionError as exc:
        return Check(
            f"Asterisk reaches our AudioSocket server ({audio.address})",
            False,
            str(exc),
            fix=(
                "Prompts by voice and agents stream the call's audio to this machine on a "
                f"port of its own (any free port of {settings.AGI_SERVER_HOST}): a firewall "
                f"between Asterisk and {advertise} must let Asterisk connect to this "
                "machine's ports, not only AGI_SERVER_PORT."
            ),
        )
    finally:
        await control.close()
        await audio.close()
    return Check(
        f"Asterisk reaches our AudioSocket server ({audio.address})",
        True,
        "the call's audio streams here",
    )


async def _speech_check(agi: AGI, ami: AMIClient, advertise: str) -> Check:
    """Play a synthesised sentence on the test call: Asterisk must find it where
    ``TTS_DELIVERY`` puts it (a file in its sounds directory, or our media server's URL;
    ``auto`` chooses as a Server does)."""
    settings = config.snapshot()
    name = f"synthesised speech plays (TTS_DELIVERY={settings.TTS_DELIVERY})"
    audio = AudioSocketServer(settings.AGI_SERVER_HOST)  # never started: nothing listens
    speech = Speech.from_settings(settings)
    speech.advertise_host = advertise
    speech.sound_check = functools.partial(sound_plays, ami)
    try:
        async with speech:
            if settings.TTS_DELIVERY == "auto":
                name = f"synthesised speech plays (TTS_DELIVERY=auto: {speech.delivery})"
            # A copy under a name never used before: a file Asterisk found once proves nothing
            made = await speech.cache.get("This is the Asteramisk doctor.")
            probe = made.with_name(f"file-{uuid.uuid4().hex}.wav")
            await asyncio.to_thread(shutil.copyfile, made, probe)
            try:
                sound = speech.asterisk_name(probe)
                control = AGIControl(agi, settings.ASTERISK_PSTN_ENDPOINT, audio=audio)
                await control.play(sound, "")
            finally:
                probe.unlink(missing_ok=True)
    except PlaybackError as exc:
        return Check(
            name,
            False,
            _first_part(str(exc)),
            fix=(
                "With TTS_DELIVERY=file, TTS_CACHE_DIR must be the directory Asterisk reads as "
                "ASTERISK_SOUNDS_DIR/ASTERISK_TTS_SOUNDS_SUBDIR (on Asterisk's machine). When "
                "Asterisk runs elsewhere, set TTS_DELIVERY=auto or http: Asterisk then fetches "
                "the speech from this machine (at ASTERAMISK_ADVERTISE_HOST, by default "
                "AGI_SERVER_HOST), which it must be able to reach."
            ),
        )
    except AsteramiskException as exc:
        return Check(name, False, str(exc))
    finally:
        await audio.close()
    return Check(name, True, f"played {sound}")


def _first_part(message: str) -> str:
    """What failed, without the advice after it (doctor gives its own fix)."""
    head, found, _ = message.partition("): ")
    return f"{head})" if found else message
