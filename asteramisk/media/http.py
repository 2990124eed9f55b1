"""A small http server for speech files, for an Asterisk that does not share our disk.

Asterisk plays ``http://`` URLs itself (``res_http_media_cache``). The server serves only the
files of the speech cache, by their content-hashed names (``tts-<hash>.wav``,
``file-<hash>.wav``); any other path is a 404, so nothing else on this machine can be read.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from aiohttp import web

from asteramisk.lifecycle import AsyncResource

__all__ = ["MediaServer"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(tts|file)-[0-9a-f]{32}\.wav$")


class MediaServer(AsyncResource):
    """Serves ``directory``'s speech files at ``http://host:port/media/<name>``."""

    def __init__(
        self,
        directory: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        idle_timeout: float = 5.0,
        advertise_host: str = "",
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self.advertise_host = advertise_host or host
        """The address in :attr:`base_url`, where Asterisk fetches the files."""
        self.idle_timeout = idle_timeout
        """Seconds a connection may stay without a request (before its first, or after its
        last) before it is closed: Asterisk fetches a file at once."""
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        return f"<MediaServer {self.base_url} {self.directory}>"

    @property
    def base_url(self) -> str:
        return f"http://{self.advertise_host}:{self.port}/media"

    async def _open(self) -> None:
        await self.start()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/media/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=self.idle_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if server is not None and self.port == 0:
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        log.info("Speech files served at %s", self.base_url)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not _NAME.match(name):
            raise web.HTTPNotFound()
        path = self.directory / name
        return web.FileResponse(path, headers={"Content-Type": "audio/wav"})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
