"""gTTS: Google Translate's speech service (needs the internet); MP3 decoded with pydub."""

from __future__ import annotations

import io

from asteramisk.exceptions import TTSError
from asteramisk.media.tts.base import Audio, TTSEngine

__all__ = ["GTTSEngine"]


class GTTSEngine(TTSEngine):
    name = "gtts"

    def __init__(self, lang: str = "en", tld: str = "com") -> None:
        self.voice = f"{lang}-{tld}"
        self.lang, self.tld = lang, tld

    def synthesize(self, text: str) -> Audio:
        from gtts import gTTS, gTTSError
        from pydub import AudioSegment

        mp3 = io.BytesIO()
        try:
            gTTS(text, lang=self.lang, tld=self.tld).write_to_fp(mp3)
        except gTTSError as exc:
            raise TTSError(
                f"gTTS could not synthesise speech: {exc}. gTTS needs the internet; "
                "for offline speech use TTS_ENGINE=piper (pip install 'asteramisk[local]')."
            ) from None
        mp3.seek(0)
        segment = AudioSegment.from_file(mp3, format="mp3").set_channels(1).set_sample_width(2)
        return Audio(segment.raw_data, segment.frame_rate)
