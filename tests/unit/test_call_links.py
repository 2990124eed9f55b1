"""Hold state and the music-on-hold class check, without Asterisk (fakes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asteramisk.asterisk.music import MusicClasses, parse_classes
from asteramisk.exceptions import PlaybackError
from asteramisk.testing.fakes import fake_call


class FakeAMI:
    """Answers ``moh show classes`` as Asterisk 22 does (one Output header per line)."""

    def __init__(self, *outputs: list[str]) -> None:
        self.outputs = list(outputs)
        self.asked = 0

    async def action(self, action: dict[str, str], **_: Any) -> dict[str, Any]:
        assert action == {"Action": "Command", "Command": "moh show classes"}
        self.asked += 1
        return {"Response": "Success", "Output": self.outputs.pop(0)}


def test_the_classes_are_read_from_the_command_output() -> None:
    output = "Class: default\n\tMode: files\n\tDirectory: moh\nClass: jazz\n\tMode: files"
    assert parse_classes(output) == {"default", "jazz"}
    assert parse_classes("") == set()


async def test_an_unknown_class_is_refused_with_the_classes_asterisk_has() -> None:
    ami = FakeAMI(["Class: default", "\tMode: files"], ["Class: default"])
    classes = MusicClasses(ami)  # type: ignore[arg-type]
    await classes.check("default")
    await classes.check("default")  # known: not asked again
    assert ami.asked == 1
    with pytest.raises(PlaybackError, match=r"no music-on-hold class 'jazz' \(it has: default\)"):
        await classes.check("jazz")  # unknown: asked again first (a class may have been added)
    assert ami.asked == 2


async def test_a_class_added_since_is_found() -> None:
    ami = FakeAMI(["Class: default"], ["Class: default", "Class: jazz"])
    classes = MusicClasses(ami)  # type: ignore[arg-type]
    await classes.check("default")
    await classes.check("jazz")


async def test_hold_then_a_verb_that_plays_ends_the_hold_first(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    ui = call.ui
    await ui.answer()
    await ui.hold()
    assert ui.held and call.control.music == "default"
    await ui.say("Thank you for holding.")
    assert not ui.held and call.control.music is None
    assert call.heard == ["Thank you for holding."]
    await ui.unhold()  # not on hold: nothing to do


async def test_the_music_class_is_checked_before_the_caller_is_held(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    call.control.music_check = MusicClasses(FakeAMI(["Class: default"], ["Class: default"])).check  # type: ignore[arg-type]
    await call.ui.answer()
    with pytest.raises(PlaybackError, match="jazz"):
        await call.ui.hold("jazz")
    assert not call.ui.held and call.control.music is None


async def test_bad_hold_arguments_are_refused(tmp_path: Path) -> None:
    ui = fake_call(tmp_path).ui
    await ui.answer()
    with pytest.raises(ValueError, match="empty"):
        await ui.hold(music=[])
    with pytest.raises(ValueError):
        await ui.hold("bad\nclass")
    with pytest.raises(ValueError, match="itself"):
        await ui.bridge(ui)


async def test_transfers_and_bridges_need_ari(tmp_path: Path) -> None:
    ui = fake_call(tmp_path).ui
    await ui.answer()
    with pytest.raises(NotImplementedError, match="ARI"):
        await ui.start_transfer("5550100")
    assert not ui.held  # the caller was taken off hold again
    other = fake_call(tmp_path).ui
    await other.answer()
    with pytest.raises(NotImplementedError, match="ARI"):
        await ui.bridge(other)
