"""Builds the phone-audio speech test set in ``benchmarks/data/speech/`` (shipped in the repo).

Two voices say each utterance: piper's ``en_US-joe-medium`` (a male neural voice, the
``local`` extra's TTS) and festival's ``cmu_us_slt_arctic_hts`` (a female HMM voice, Debian's
``festvox-us-slt-hts``), so that no recogniser is measured only on the voice that made its
prompts. Each is cut to the phone band (soxr to 8 kHz, 16-bit) and written as a WAV file; the
noise and the G.711 round trip are added when the set is read (``benchmarks/speech_set.py``),
with a fixed seed, so that every condition is reproducible from these files.

    apt-get install festival festvox-us-slt-hts   # once
    .venv/bin/python benchmarks/make_speech_set.py

``UTTERANCES`` is what callers say to phone apps: digits, yes and no, names, dates, addresses
and intents. ``phrases`` (when given) is the list an app would pass as ``phrases=`` for that
question, and ``expect`` the phrase it must come back as.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr

from asteramisk.media.format import write_wav
from asteramisk.media.tts.piper import PiperEngine

DATA = Path(__file__).resolve().parent / "data" / "speech"

YES_NO = ["yes", "no"]
DEPARTMENTS = ["sales", "support", "billing", "operator"]
APPOINTMENT = ["confirm", "cancel", "reschedule"]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

UTTERANCES: list[dict[str, object]] = [
    # digits
    {"text": "one two three four", "kind": "digits"},
    {"text": "my account number is four five six seven eight", "kind": "digits"},
    {"text": "five five five one two one two", "kind": "digits"},
    {"text": "seven", "kind": "digits", "phrases": DIGITS, "expect": "seven"},
    {"text": "zero", "kind": "digits", "phrases": DIGITS, "expect": "zero"},
    {"text": "three", "kind": "digits", "phrases": DIGITS, "expect": "three"},
    # yes and no
    {"text": "yes", "kind": "yes/no", "phrases": YES_NO, "expect": "yes"},
    {"text": "no", "kind": "yes/no", "phrases": YES_NO, "expect": "no"},
    {"text": "yes please", "kind": "yes/no", "phrases": YES_NO, "expect": "yes"},
    {"text": "no thank you", "kind": "yes/no", "phrases": YES_NO, "expect": "no"},
    {"text": "yes that is right", "kind": "yes/no", "phrases": YES_NO, "expect": "yes"},
    # names
    {"text": "my name is john smith", "kind": "name"},
    {"text": "maria garcia", "kind": "name"},
    {"text": "this is david johnson calling", "kind": "name"},
    {"text": "sarah williams", "kind": "name"},
    # dates and times
    {"text": "next tuesday", "kind": "date"},
    {"text": "march fifteenth", "kind": "date"},
    {"text": "the twenty first of june", "kind": "date"},
    {"text": "tomorrow morning at ten", "kind": "date"},
    # addresses
    {"text": "twelve main street", "kind": "address"},
    {"text": "four hundred oak avenue apartment three", "kind": "address"},
    {"text": "one twenty five elm road", "kind": "address"},
    {"text": "I need a ride from twelve main street", "kind": "address"},
    # intents
    {
        "text": "I would like sales please",
        "kind": "intent",
        "phrases": DEPARTMENTS,
        "expect": "sales",
    },
    {
        "text": "I need technical support",
        "kind": "intent",
        "phrases": DEPARTMENTS,
        "expect": "support",
    },
    {"text": "I have a question about my bill", "kind": "intent"},
    {"text": "billing", "kind": "intent", "phrases": DEPARTMENTS, "expect": "billing"},
    {
        "text": "can I speak to an operator",
        "kind": "intent",
        "phrases": DEPARTMENTS,
        "expect": "operator",
    },
    {"text": "sales", "kind": "intent", "phrases": DEPARTMENTS, "expect": "sales"},
    {"text": "support", "kind": "intent", "phrases": DEPARTMENTS, "expect": "support"},
    {
        "text": "I would like to cancel my appointment",
        "kind": "intent",
        "phrases": APPOINTMENT,
        "expect": "cancel",
    },
    {
        "text": "can we reschedule please",
        "kind": "intent",
        "phrases": APPOINTMENT,
        "expect": "reschedule",
    },
    {"text": "I want to confirm", "kind": "intent", "phrases": APPOINTMENT, "expect": "confirm"},
    {"text": "what are your opening hours", "kind": "intent"},
    {"text": "I want to check the status of my order", "kind": "intent"},
    {"text": "please repeat that", "kind": "intent"},
    {"text": "I would like to book a table for two", "kind": "intent"},
    {"text": "my order has not arrived", "kind": "intent"},
    {"text": "help", "kind": "intent"},
    {"text": "goodbye", "kind": "intent"},
]

VOICES = ("joe", "slt")


def _joe(text: str) -> tuple[np.ndarray, int]:
    audio = PiperEngine().synthesize(text)
    return np.frombuffer(audio.pcm, dtype=np.int16), audio.rate


def _slt(text: str) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "slt.wav"
        subprocess.run(
            ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", str(path)],
            input=text.encode(),
            check=True,
        )
        with wave.open(str(path)) as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return samples, rate


def main() -> None:
    manifest = []
    for voice in VOICES:
        (DATA / voice).mkdir(parents=True, exist_ok=True)
    for number, utterance in enumerate(UTTERANCES, start=1):
        name = f"{number:02d}.wav"
        for voice, speak in (("joe", _joe), ("slt", _slt)):
            samples, rate = speak(str(utterance["text"]))
            phone = soxr.resample(samples, rate, 8000, quality="VHQ")
            write_wav(DATA / voice / name, phone.astype(np.int16).tobytes(), 8000)
        manifest.append({"file": name, **utterance})
    (DATA / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(manifest)} utterances x {len(VOICES)} voices in {DATA}")


if __name__ == "__main__":
    main()
