"""Speech to text: one module per engine on a small interface, and a registry.

``moonshine`` (offline, its tiny English model inside its wheel; the default) runs in a pool of
threads (it releases the GIL). ``pocketsphinx`` (offline, bundled en-US model) runs in a worker
process of its own (it holds the GIL while it decodes). ``openai`` sends the audio to OpenAI's
transcription endpoint. Given ``phrases``, the free-transcribing engines find them in what
they heard (:mod:`asteramisk.media.stt.phrases`).
``create_transcriber(settings)`` makes the engine ``STT_ENGINE`` names; a
:class:`~asteramisk.media.speech.Speech` owns it and closes it.
"""

from asteramisk.media.stt.base import Transcriber
from asteramisk.media.stt.moonshine import MoonshineTranscriber
from asteramisk.media.stt.openai import OpenAITranscriber
from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine, PocketsphinxTranscriber
from asteramisk.media.stt.registry import create_transcriber

__all__ = [
    "MoonshineTranscriber",
    "OpenAITranscriber",
    "PocketsphinxEngine",
    "PocketsphinxTranscriber",
    "Transcriber",
    "create_transcriber",
]
