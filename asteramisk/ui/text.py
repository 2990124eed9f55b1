"""TextUI: a text-message conversation. Not in this version: see the project's issue on texts."""

from __future__ import annotations

from typing import Any

from asteramisk.ui.base import UI

__all__ = ["TextUI"]


class TextUI(UI):
    """A text conversation (SMS over SIP MESSAGE). Not available in this version."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "Text conversations (TextUI) are not implemented in this version of Asteramisk."
        )
