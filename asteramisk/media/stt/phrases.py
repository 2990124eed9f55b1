"""What was said, matched to the phrases an app expects (``phrases=``).

An engine that transcribes freely (moonshine, OpenAI) hears "I would like sales, please."; the
app asked for one of ``["sales", "support"]``. :func:`phrases_heard` finds the phrase whose
words best match some run of the transcript's words (by character similarity, so "sale" still
counts as "sales", and "5" as "five"), and returns it as the app wrote it (several, in the
order said, when the caller said several), or ``""`` when no phrase is close enough
(``MATCH_THRESHOLD``): an answer the app did not expect is not forced onto one it did.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

__all__ = ["MATCH_THRESHOLD", "normalise", "phrases_heard"]

MATCH_THRESHOLD = 0.75
"""The similarity (0-1) a phrase needs to count as heard. Chosen on the speech test set
(``benchmarks/stt_accuracy.py``): below it noise was taken for phrases, above it phrases said
in noise were lost."""

ANOTHER_THRESHOLD = 0.85
"""The similarity each phrase after the closest needs (a caller who says two)."""
SHORT = 3
"""Phrases this long or shorter (in letters, with spaces) must be heard exactly."""

_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def normalise(text: str) -> str:
    """Lower case words, digits spelt out one by one, punctuation dropped."""
    words = []
    for word in re.findall(r"[a-z']+|\d+", text.lower()):
        if word.isdigit():
            words.append("ten" if word == "10" else " ".join(_DIGITS[int(d)] for d in word))
        else:
            words.append(word)
    return " ".join(words)


def _runs(phrase: list[str], words: list[str]) -> list[tuple[float, int, int]]:
    """``(similarity 0-1, start, end)`` of ``phrase`` against each run of ``words`` about as
    long as it."""
    target = " ".join(phrase)
    found = []
    for width in {max(1, len(phrase) - 1), len(phrase), len(phrase) + 1}:
        for start in range(max(1, len(words) - width + 1)):
            run = " ".join(words[start : start + width])
            score = SequenceMatcher(None, target, run, autojunk=False).ratio()
            found.append((score, start, min(len(words), start + width)))
    return found


def phrases_heard(
    transcript: str, phrases: Sequence[str], threshold: float = MATCH_THRESHOLD
) -> str:
    """The phrases of ``phrases`` said in ``transcript``, as given, in the order said and
    joined by spaces (a caller may say more than one, as a grammar allows); '' if none is
    close enough. The closest match is taken first, then the closest of the words left, ...;
    of two equally close, the longer phrase ("no thank you" over "no")."""
    words = normalise(transcript).split()
    if not words:
        return ""
    candidates = []
    for phrase in phrases:
        target = normalise(phrase).split()
        # a word of three letters or fewer is heard only as itself: "now" is not "no"
        needed = 1.0 if len(" ".join(target)) <= SHORT else threshold
        if target:
            for score, start, end in _runs(target, words):
                if score >= needed:
                    candidates.append((score, len(target), -start, phrase, start, end))
    taken: list[tuple[int, str]] = []
    used = [False] * len(words)
    for score, _length, _, phrase, start, end in sorted(candidates, reverse=True):
        if taken and score < ANOTHER_THRESHOLD:
            break  # a second phrase must be clear: "can we" is not "cancel" too
        if not any(used[start:end]):
            used[start:end] = [True] * (end - start)
            taken.append((start, phrase))
    return " ".join(phrase for _, phrase in sorted(taken))
