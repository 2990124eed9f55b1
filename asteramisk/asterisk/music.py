"""Asterisk's music-on-hold classes, asked over AMI, so that a hold is never silent.

Asterisk accepts a request to play an unknown class (ARI ``startMoh``, AGI ``SET MUSIC ON``)
and plays nothing: the caller waits in silence, and only Asterisk's log says why. A
:class:`MusicClasses` asks Asterisk which classes it has (``moh show classes``: classes of
files with no files are not loaded, so are not listed) before a hold starts, and raises a
:class:`~asteramisk.exceptions.PlaybackError` that names the classes it has. What it learnt
is kept; an unknown name asks again (a class added and reloaded since is found).
"""

from __future__ import annotations

import re

from asteramisk.asterisk.ami import AMIClient
from asteramisk.exceptions import PlaybackError

__all__ = ["MusicClasses", "parse_classes"]

_CLASS = re.compile(r"^Class:\s*(\S+)", re.MULTILINE)


def parse_classes(output: str) -> set[str]:
    """The class names in the output of ``moh show classes``."""
    return set(_CLASS.findall(output))


class MusicClasses:
    """The music-on-hold classes of the Asterisk behind ``ami`` (see the module)."""

    def __init__(self, ami: AMIClient) -> None:
        self.ami = ami
        self.known: set[str] = set()

    async def refresh(self) -> set[str]:
        response = await self.ami.action(
            {"Action": "Command", "Command": "moh show classes"}, as_list=False
        )
        output = response.get("Output", "") if hasattr(response, "get") else ""
        if isinstance(output, list):
            output = "\n".join(str(line) for line in output)
        self.known = parse_classes(str(output))
        return self.known

    async def check(self, name: str) -> None:
        """Return if Asterisk has the class ``name``; else raise PlaybackError."""
        if name in self.known or name in await self.refresh():
            return
        have = ", ".join(sorted(self.known)) or "none"
        raise PlaybackError(
            f"Asterisk has no music-on-hold class {name!r} (it has: {have}), so the caller "
            "would hear silence. Define it in musiconhold.conf (a class of files needs at "
            "least one file Asterisk can read: Debian's asterisk-moh-opsound-* packages "
            "fill the 'default' class) and run 'module reload res_musiconhold.so', or pass "
            "music=[files] to play files of your own."
        )
