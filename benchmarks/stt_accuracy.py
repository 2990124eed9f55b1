"""Speech recognition and voice activity detection on phone audio: the speech test set
(``data/speech``: 40 utterances callers say, two voices) clean, at 20 dB and at 10 dB SNR, all
through G.711 mu-law.

STT, per engine and condition: word error rate of free transcription (both sides normalised
by Whisper's English normaliser, digit strings counted digit by digit), the time per utterance,
and phrase accuracy on the utterances that have ``phrases=`` (the phrase the app expects, and
nothing else, comes back); and how often an answer that is none of the phrases comes back as
one of them anyway. Engines: moonshine (tiny-en, free transcript matched to the nearest
phrase) and pocketsphinx (its grammar of the phrases).

VAD, per detector and condition (``--vad``): each clip with 1 s of the line before and 2 s
after: a miss (no utterance), a false start (speech reported more than 100 ms before the words
begin), a false cut (the utterance ends more than 300 ms before the words do: the caller would
be cut off), stuck (no end within 2 s of the words' end), and the end delay (end event - end of
the words); plus 20 s of noise alone per condition, where any start is a false start.

    .venv/bin/python benchmarks/stt_accuracy.py [--engines moonshine,pocketsphinx] [--vad]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable

import jiwer
import speech_set
from whisper_normalizer.english import EnglishTextNormalizer

from asteramisk.media.stt.phrases import normalise

_english = EnglishTextNormalizer()


def words(text: str) -> str:
    """Whisper's normal form, digit strings spelt digit by digit ("45678" -> "4 5 6 7 8")."""
    text = _english(text.lower())
    return re.sub(r"\d+", lambda m: " ".join(m.group()), text).strip()


def moonshine() -> Callable[[bytes, tuple[str, ...] | None], str]:
    from asteramisk.media.stt.moonshine import hear

    return lambda pcm, phrases: hear(pcm, list(phrases) if phrases else None)


def pocketsphinx() -> Callable[[bytes, tuple[str, ...] | None], str]:
    from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine

    engine = PocketsphinxEngine()
    return lambda pcm, phrases: engine.transcribe(pcm, phrases=phrases)


OFF_LIST = (("yes", "no"), ("sales", "support", "billing", "operator"))
"""Questions asked of the utterances that answer none of them ("my name is John Smith" to
"yes or no?"): any phrase that comes back was put in the caller's mouth."""

ENGINES = {"moonshine": moonshine, "pocketsphinx": pocketsphinx}


def measure_stt(names: list[str]) -> None:
    print(
        "| engine | condition | WER | phrases right | off-list answers taken for a phrase "
        "| s per utterance |"
    )
    print("|---|---|---|---|---|---|")
    for name in names:
        transcribe = ENGINES[name]()
        for condition in speech_set.CONDITIONS:
            references, hypotheses, times = [], [], []
            right = asked = taken = off_list = 0
            for clip in speech_set.clips(condition):
                started = time.perf_counter()
                hypotheses.append(words(transcribe(clip.pcm, None)) or "<nothing>")
                times.append(time.perf_counter() - started)
                references.append(words(clip.text))
                if clip.phrases and clip.expect:
                    asked += 1
                    heard = transcribe(clip.pcm, clip.phrases)
                    right += normalise(heard) == normalise(clip.expect)
                for options in OFF_LIST:
                    said = set(words(clip.text).split())
                    if clip.phrases is None and not said & {words(o) for o in options}:
                        off_list += 1
                        taken += transcribe(clip.pcm, options) != ""
            wer = jiwer.wer(references, hypotheses)
            print(
                f"| {name} | {condition} | {wer:.1%} | {right}/{asked} ({right / asked:.0%}) "
                f"| {taken}/{off_list} ({taken / off_list:.0%}) | {statistics.mean(times):.3f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="moonshine,pocketsphinx")
    parser.add_argument("--vad", action="store_true", help="measure the VAD instead")
    args = parser.parse_args()
    if args.vad:
        import vad_accuracy

        vad_accuracy.main()
        return
    measure_stt(args.engines.split(","))


if __name__ == "__main__":
    main()
