"""TextUI without Asterisk: sender parsing, wording, idle timeout."""

from __future__ import annotations

import pytest

from asteramisk.exceptions import HangupException
from asteramisk.ui.base import spoken_digits
from asteramisk.ui.text import TextUI, encode_body, parse_number


@pytest.mark.parametrize(
    ("address", "number"),
    [
        ("5550100", "5550100"),
        ("sip:5550100@127.0.0.1", "5550100"),
        ("sip:+15550100@provider.example:5060;transport=udp", "+15550100"),
        ('"Virtual Phone" <sip:5550100@127.0.0.1:15060>', "5550100"),
        ("<sips:5550100@host>", "5550100"),
        ('"Smith, Ann" <sip:+44 20 7946 0000@host>', "+442079460000"),
    ],
)
def test_sender_number_from_any_form(address: str, number: str) -> None:
    assert parse_number(address) == number


def test_body_encoding_keeps_everything() -> None:
    import base64

    body = "line\r\nAction: Originate\r\n😀"
    assert base64.b64decode(encode_body(body)).decode() == body
    assert "\n" not in encode_body(body)


async def test_idle_conversation_ends_as_a_hangup() -> None:
    sent: list[str] = []

    async def send(to: str, sender: str, body: str) -> None:
        sent.append(body)

    ui = TextUI(send, remote_number="5550100", local_number="3000", idle_timeout=0.1)
    with pytest.raises(HangupException, match="no reply"):
        await ui.prompt("Anyone there?")
    assert sent == ["Anyone there?"] and ui.hung_up
    with pytest.raises(HangupException):
        await ui.say("too late")


async def test_gather_takes_the_digits_of_the_reply() -> None:
    async def send(to: str, sender: str, body: str) -> None:
        pass

    ui = TextUI(send, remote_number="5550100", local_number="3000")
    ui.deliver("my pin is 12 34#99")
    assert await ui.gather("PIN?", num_digits=4) == "1234"


async def test_gather_with_speech_takes_digits_written_as_words() -> None:
    async def send(to: str, sender: str, body: str) -> None:
        pass

    ui = TextUI(send, remote_number="5550100", local_number="3000")
    ui.deliver("Four two, oh nine")
    assert await ui.gather("PIN?", num_digits=4, speech=True) == "4209"
    ui.deliver("four two")
    assert await ui.gather("PIN?", num_digits=4) == ""  # words only when asked


@pytest.mark.parametrize(
    ("said", "digits"),
    [("four two oh nine", "4209"), ("zero 7 eight", "078"), ("um, three-five", "35"), ("no", "")],
)
def test_spoken_digits(said: str, digits: str) -> None:
    assert spoken_digits(said) == digits


async def test_a_lost_reply_is_raised_by_the_prompt_that_waits_for_it() -> None:
    from asteramisk.exceptions import TextLostError

    async def send(to: str, sender: str, body: str) -> None:
        return None

    ui = TextUI(send, remote_number="5550100", local_number="5551234")
    ui.deliver(TextLostError("lost", 2000))
    ui.deliver("next one")
    with pytest.raises(TextLostError):
        await ui.prompt("", timeout=1)
    assert await ui.prompt("", timeout=1) == "next one"
    assert ui.transcript == [("lost", "2000"), ("received", "next one")]
