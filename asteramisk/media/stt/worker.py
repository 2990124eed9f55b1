"""A speech-recognition worker process, for engines that hold the GIL while they decode.

Pocketsphinx holds the GIL while it decodes; in a thread it would stall the event loop of the
process that uses it. A :class:`SpeechWorker` runs an engine's module (``python -m MODULE``,
whose ``__main__`` calls :func:`serve`) in a process of its own, started with
``sys.executable`` (so it never re-imports the caller's ``__main__``, as multiprocessing's spawn
would). Protocol, on stdin/stdout: a request is a JSON line ``{"phrases": [...] | null,
"bytes": N}`` followed by N bytes of 8 kHz 16-bit PCM; the answer is a JSON line
``{"text": "..."}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any

from asteramisk.exceptions import STTError

__all__ = ["POCKETSPHINX", "SpeechWorker", "serve"]

POCKETSPHINX = "asteramisk.media.stt.pocketsphinx_worker"
"""The module of the offline engine the worker runs by default."""


def serve(transcribe: Callable[[bytes, list[str] | None], str]) -> None:
    """The worker process's loop: answer each request on stdin with ``transcribe``."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while header := stdin.readline():
        request = json.loads(header)
        pcm = stdin.read(int(request["bytes"]))
        text = transcribe(pcm, request.get("phrases"))
        stdout.write(json.dumps({"text": text}).encode() + b"\n")
        stdout.flush()


class SpeechWorker:
    """The client side: one worker process running ``module``, one request at a time,
    started on first use. Its owner closes it."""

    def __init__(self, module: str = POCKETSPHINX) -> None:
        self.module = module
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._stderr: IO[bytes] | None = None

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        async with self._lock:
            if self._closed:
                raise STTError("The speech recogniser is closed (its Server was closed).")
            if self._process is None or self._process.returncode is not None:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    self.module,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=self._stderr_file(),
                )
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            header = {"phrases": phrases, "bytes": len(pcm)}
            try:
                process.stdin.write(json.dumps(header).encode() + b"\n" + pcm)
                await process.stdin.drain()
                line = await process.stdout.readline()
            except (ConnectionError, BrokenPipeError):
                line = b""
            if not line:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        await process.wait()
                raise STTError(
                    f"The speech worker process ({self.module}) ended unexpectedly (exit code "
                    f"{process.returncode}; {self._last_error()}); the next transcription "
                    "starts a new one."
                )
            answer: dict[str, Any] = json.loads(line)
            return str(answer["text"])

    def _stderr_file(self) -> IO[bytes]:
        """Where the worker writes its errors: a temporary file of ours, read when it dies."""
        if self._stderr is None:
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._stderr.seek(0)
        self._stderr.truncate()
        return self._stderr

    def _last_error(self) -> str:
        if self._stderr is None:
            return "no error output"
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return f"its last words: {lines[-1]}" if lines else "no error output"

    async def close(self) -> None:
        self._closed = True
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
