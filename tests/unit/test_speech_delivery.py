"""TTS_DELIVERY: ``auto`` asks Asterisk to play a probe file and picks file or http; ``file``
refuses a directory Asterisk does not read. Asterisk here is a fake ``sound_check``; the real
probe is tested against the sandbox (tests/integration/test_speech_delivery.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from asteramisk.asterisk.sound_probe import SoundProbeError
from asteramisk.exceptions import ConfigurationError
from asteramisk.media.speech import Speech
from asteramisk.testing.fakes import FakeTTSEngine


class FakeAsterisk:
    """Plays a sound if its path, seen from 'Asterisk's side', is a file that exists."""

    def __init__(self, reads: Path | None, *, error: Exception | None = None) -> None:
        self.reads = reads  # the directory Asterisk's asterisk_dir is on this machine
        self.error = error
        self.asked: list[str] = []
        self.existed: list[bool] = []

    async def __call__(self, sound: str) -> bool:
        self.asked.append(sound)
        if self.error is not None:
            raise self.error
        if self.reads is None:
            self.existed.append(False)
            return False
        path = self.reads / f"{Path(sound).name}.wav"
        self.existed.append(path.is_file())
        return path.is_file()


def speech(tmp_path: Path, delivery: str, asterisk: FakeAsterisk) -> Speech:
    s = Speech(
        FakeTTSEngine(),
        cache_dir=tmp_path / "cache",
        delivery=delivery,
        asterisk_dir="/var/lib/asterisk/sounds/asteramisk",
    )
    s.sound_check = asterisk
    return s


@pytest.mark.parametrize("delivery", ["auto", "file"])
async def test_asterisk_that_reads_the_directory_gets_files(tmp_path: Path, delivery: str) -> None:
    asterisk = FakeAsterisk(reads=tmp_path / "cache")
    async with speech(tmp_path, delivery, asterisk) as s:
        assert s.delivery == "file"
        assert s.media_url == ""
        name = await s.file("Hello")
        assert name.startswith("/var/lib/asterisk/sounds/asteramisk/")
    (asked,) = asterisk.asked
    assert asked.startswith("/var/lib/asterisk/sounds/asteramisk/probe-")
    assert asterisk.existed == [True]  # the probe was there when Asterisk was asked
    assert not list((tmp_path / "cache").glob("probe-*"))  # and is gone after


async def test_auto_serves_over_http_when_asterisk_cannot_read_the_directory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    asterisk = FakeAsterisk(reads=None)
    with caplog.at_level(logging.INFO, logger="asteramisk.media.speech"):
        async with speech(tmp_path, "auto", asterisk) as s:
            assert s.delivery == "http"
            assert s.media_url.startswith("http://127.0.0.1:")
            name = await s.file("Hello")
            assert name.startswith(s.media_url + "/")
        assert s.media_url == ""  # closed with its owner
    assert "speech goes to Asterisk over http" in caplog.text
    assert not list((tmp_path / "cache").glob("probe-*"))


async def test_file_refuses_a_directory_asterisk_does_not_read(tmp_path: Path) -> None:
    s = speech(tmp_path, "file", FakeAsterisk(reads=None))
    with pytest.raises(ConfigurationError) as info:
        await s.start()
    message = str(info.value)
    assert str(tmp_path / "cache") in message
    assert "TTS_CACHE_DIR" in message and "TTS_DELIVERY" in message
    await s.close()


async def test_when_asterisk_cannot_be_asked_speech_goes_by_file_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    asterisk = FakeAsterisk(reads=None, error=SoundProbeError("the test call did not run"))
    async with speech(tmp_path, "auto", asterisk) as s:
        assert s.delivery == "file"
    assert "the test call did not run" in caplog.text
    assert "TTS_DELIVERY" in caplog.text


async def test_a_cache_directory_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file, not a directory")
    s = speech(tmp_path, "auto", FakeAsterisk(reads=tmp_path))
    with pytest.raises(ConfigurationError, match=r"TTS_CACHE_DIR .*cache"):
        await s.start()
    await s.close()


async def test_without_anybody_to_ask_auto_means_file(tmp_path: Path) -> None:
    s = Speech(FakeTTSEngine(), cache_dir=tmp_path, asterisk_dir="/sounds/asteramisk")
    assert s.delivery == "auto"
    async with s:
        assert s.delivery == "file"


def test_a_wrong_delivery_lists_the_three(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="'auto', 'file' or 'http'"):
        Speech(FakeTTSEngine(), cache_dir=tmp_path, delivery="ftp")
