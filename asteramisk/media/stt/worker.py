"""A speech-recognition worker process: ``python -m asteramisk.media.stt.worker``.

Pocketsphinx holds the GIL while it decodes; in a thread it would stall the event loop of the
process that uses it. This worker runs it in a process of its own, started with
``sys.executable`` (so it never re-imports the caller's ``__main__``, as multiprocessing's spawn
would). Protocol, on stdin/stdout: a request is a JSON line ``{"phrases": [...] | null,
"bytes": N}`` followed by N bytes of 8 kHz 16-bit PCM; the answer is a JSON line
``{"text": "..."}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

__all__ = ["SpeechWorker"]


def main() -> None:
    from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine

    engine = PocketsphinxEngine()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while header := stdin.readline():
        request = json.loads(header)
        pcm = stdin.read(int(request["bytes"]))
        text = engine.transcribe(pcm, 8000, phrases=request.get("phrases"))
        stdout.write(json.dumps({"text": text}).encode() + b"\n")
        stdout.flush()


class SpeechWorker:
    """The client side: one worker process, one request at a time."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        async with self._lock:
            if self._process is None or self._process.returncode is not None:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "asteramisk.media.stt.worker",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            header = {"phrases": phrases, "bytes": len(pcm)}
            process.stdin.write(json.dumps(header).encode() + b"\n" + pcm)
            await process.stdin.drain()
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError("the speech worker process ended unexpectedly")
            answer: dict[str, Any] = json.loads(line)
            return str(answer["text"])

    async def close(self) -> None:
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


if __name__ == "__main__":
    main()
