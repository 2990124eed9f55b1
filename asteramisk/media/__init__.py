"""Audio: text to speech (``tts``), speech to text (``stt``) and their cache."""
