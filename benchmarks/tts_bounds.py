"""What one long say() costs the machine and the other calls, with and without pieces.

For unpunctuated text of 1,000 and 4,000 characters, each mode in a fresh process (so that
its peak RSS is its own): the synthesiser given the whole text at once (what the library did
before), and given the pieces of ``asteramisk.media.tts.chunks.split_text`` (what it does
now). Then how long a short phrase waits when another call's 4,000-character text is being
made in pieces on the same voice. Piper with the bundled voice; figures to
benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/tts_bounds.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time

SHORT = "Press one for sales."


def _one(mode: str, chars: int) -> dict[str, float]:
    from asteramisk.media.tts.chunks import split_text
    from asteramisk.media.tts.piper import PiperEngine

    engine = PiperEngine()
    engine.synthesize("warm up")
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = "word " * (chars // 5)
    started = time.perf_counter()
    for piece in [text] if mode == "whole" else split_text(text):
        engine.synthesize(piece)
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loaded_mb": loaded,
    }


def _waiting() -> dict[str, float]:
    from asteramisk.media.tts.chunks import split_text
    from asteramisk.media.tts.piper import PiperEngine

    engine = PiperEngine()
    engine.synthesize("warm up")
    started = time.perf_counter()
    engine.synthesize(SHORT)
    alone = time.perf_counter() - started
    text = "word " * 800

    def long_say() -> None:
        for piece in split_text(text):
            engine.synthesize(piece)

    other = threading.Thread(target=long_say)
    other.start()
    time.sleep(1.0)
    started = time.perf_counter()
    engine.synthesize(SHORT)
    behind = time.perf_counter() - started
    other.join()
    return {"alone": alone, "behind": behind}


def main() -> None:
    if len(sys.argv) > 1:  # a child: one measurement, as JSON
        if sys.argv[1] == "waiting":
            print(json.dumps(_waiting()))
        else:
            print(json.dumps(_one(sys.argv[1], int(sys.argv[2]))))
        return
    print("| text | mode | time | peak RSS (after loading the voice) |")
    print("|---|---|---|---|")
    for chars in (1000, 4000):
        for mode in ("whole", "pieces"):
            if chars == 4000 and mode == "whole":
                print(f"| {chars:,} characters | whole | not run (the issue: 121 s, 20 GB) | |")
                continue
            out = subprocess.run(
                [sys.executable, __file__, mode, str(chars)], capture_output=True, check=True
            )
            got = json.loads(out.stdout)
            print(
                f"| {chars:,} characters | {mode} | {got['seconds']:.1f} s | "
                f"{got['peak_mb']:.0f} MB ({got['loaded_mb']:.0f} MB) |"
            )
    out = subprocess.run([sys.executable, __file__, "waiting"], capture_output=True, check=True)
    got = json.loads(out.stdout)
    print(
        f"\nA short phrase: {got['alone']:.2f} s alone, {got['behind']:.2f} s while another "
        "call's 4,000 characters are made in pieces on the same voice."
    )


if __name__ == "__main__":
    main()
