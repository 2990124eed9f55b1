"""The pocketsphinx worker process: ``python -m asteramisk.media.stt.pocketsphinx_worker``
(started by :class:`~asteramisk.media.stt.worker.SpeechWorker`; see there)."""

from __future__ import annotations

from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine
from asteramisk.media.stt.worker import serve

__all__ = ["main"]


def main() -> None:
    engine = PocketsphinxEngine()
    serve(lambda pcm, phrases: engine.transcribe(pcm, phrases=phrases))


if __name__ == "__main__":
    main()
