"""An answer heard freely, matched to the phrases the app expects."""

from __future__ import annotations

import pytest

from asteramisk.media.stt.phrases import normalise, phrases_heard

DEPARTMENTS = ["Sales", "Support", "Billing", "an operator"]


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("I would like sales, please.", "Sales"),  # as the app wrote it
        ("Can I speak to an operator?", "an operator"),
        ("support", "Support"),
        ("I need some sale", "Sales"),  # a near miss still counts
        ("What are your opening hours?", ""),  # not one of them: nothing forced
        ("", ""),
    ],
)
def test_the_phrase_said_is_found_among_other_words(heard: str, expected: str) -> None:
    assert phrases_heard(heard, DEPARTMENTS) == expected


def test_digits_and_words_are_the_same_answer() -> None:
    assert phrases_heard("7", ["six", "seven"]) == "seven"
    assert phrases_heard("press seven", ["6", "7"]) == "7"
    assert normalise("Call 555-12, now!") == "call five five five one two now"


def test_several_phrases_said_come_back_in_the_order_said() -> None:
    options = ["book a table", "cancel my order", "talk to a person"]
    heard = "Book a table. Um, and talk to a person."
    assert phrases_heard(heard, options) == "book a table talk to a person"
    assert phrases_heard("cancel my order, cancel my order", options) == (
        "cancel my order cancel my order"
    )


def test_of_two_equally_close_phrases_the_longer_wins() -> None:
    assert phrases_heard("No thank you.", ["no", "no thank you", "yes"]) == "no thank you"


def test_the_threshold_decides_what_is_close_enough() -> None:
    assert phrases_heard("Billy", ["billing", "sales"], threshold=0.6) == "billing"
    assert phrases_heard("Billy", ["billing", "sales"], threshold=0.9) == ""
