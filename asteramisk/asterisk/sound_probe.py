"""Ask Asterisk whether it can play a sound: played for real, on a Local channel.

``TTS_DELIVERY=auto`` needs to know, at start-up, whether Asterisk reads the directory the app
writes speech to (the same machine, or a shared volume) or must fetch it over http; ``file``
checks it once; ``doctor`` plays a synthesised phrase. Asking Asterisk to *play* the file
answers all three, formats and permissions included. Over AMI only (every Server and
Communicator has it):

1. a context of its own: ``Playback(sound)``, then ``Set(DB(asteramisk_probe/token)=
   ${PLAYBACKSTATUS})`` (Asterisk's database: a key can be deleted, a global variable not);
2. ``Originate`` a ``Local/`` channel into it;
3. read the key back (``DBGet``) until Playback has set it (``SUCCESS`` or ``FAILED``); then
   remove the context and the key, and hang the test call up if it is still running (the
   probe was cancelled or timed out).

A probe cut short where no clean-up can run (the app killed, AMI lost) leaves its key in
Asterisk's database, which outlives restarts: each key is named after the time it was made,
and every probe first removes keys older than :data:`STALE_AFTER` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.dialplan import Dialplan
from asteramisk.exceptions import AsteramiskException

__all__ = ["STALE_AFTER", "SoundProbeError", "sound_plays"]

POLL_INTERVAL = 0.02
FAMILY = "asteramisk_probe"
STALE_AFTER = 600.0
"""A probe key this old (by this machine's clock) belongs to no running probe: a probe lasts
its timeout, and the margin covers clocks of apps on other hosts that disagree."""


class SoundProbeError(AsteramiskException):
    """Asterisk did not say whether it could play the probe (it did not run the test call)."""


async def sound_plays(ami: AMIClient, sound: str, *, timeout: float = 10.0) -> bool:
    """Whether Asterisk plays ``sound`` (a path without extension, or an http URL).

    True if ``Playback`` reported success, False if it reported failure (Asterisk cannot
    find, read or fetch it). Raises :class:`SoundProbeError` when no answer came within
    ``timeout`` seconds (the test call was refused or never ran), and the errors of
    :meth:`AMIClient.action` when AMI is down.
    """
    if any(ch in sound for ch in ",;|\r\n\0") or "${" in sound:
        raise ValueError(f"A probe sound must be a plain path or URL, not {sound!r}.")
    await _sweep(ami)
    token = f"{int(time.time())}-{uuid.uuid4().hex[:12]}"
    context = f"asteramisk-probe-{token}"
    steps = [
        ("Playback", f"{sound},noanswer"),
        ("Set", f"DB({FAMILY}/{token})=${{PLAYBACKSTATUS}}"),
        ("Hangup", ""),
    ]
    dialplan = Dialplan(ami)
    status = ""
    try:
        await dialplan.put(context, "s", steps)
        await ami.action(
            {
                "Action": "Originate",
                "Channel": f"Local/s@{context}/n",
                "Application": "Wait",
                "Data": str(int(timeout) + 1),
                "Async": "true",
            },
            as_list=False,
        )
        status = await _read_back(ami, token, timeout)
    finally:
        with contextlib.suppress(AsteramiskException):
            if not status:  # cut short: the call may still play, then write its key
                channel = f"/^Local/s@{context}-/"  # AMI takes a regular expression in //
                await ami.action({"Action": "Hangup", "Channel": channel}, check=False)
            await dialplan.drop_context(context)
            await ami.action({"Action": "DBDel", "Family": FAMILY, "Key": token}, check=False)
    return status == "SUCCESS"


async def _sweep(ami: AMIClient) -> None:
    """Remove the keys of probes that ended with no clean-up (see the module's text)."""
    response = await ami.action({"Action": "DBGetTree", "Family": FAMILY}, check=False)
    events = response if isinstance(response, list) else [response]
    now = time.time()
    for event in events:
        key = str(event.get("Key") or "").rpartition("/")[2]
        made, _, _ = key.partition("-")
        if key and (not made.isdigit() or now - int(made) > STALE_AFTER):
            await ami.action({"Action": "DBDel", "Family": FAMILY, "Key": key}, check=False)


async def _read_back(ami: AMIClient, token: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        # A list of events once the key is there; a single "not found" error before
        response = await ami.action(
            {"Action": "DBGet", "Family": FAMILY, "Key": token}, check=False
        )
        events = response if isinstance(response, list) else [response]
        values = [str(event.get("Val") or "") for event in events if "Val" in event]
        if values and values[0]:
            return values[0]
        if time.monotonic() > deadline:
            raise SoundProbeError(
                f"Asterisk did not play the test sound within {timeout:g} s: the test call "
                "(Originate of a Local channel over AMI) did not run. The AMI user needs the "
                "'originate' and 'system' write permissions (manager.d/asteramisk.conf of "
                "example_configs)."
            )
        await asyncio.sleep(POLL_INTERVAL)
