"""Small, exact edits of Asterisk ``.conf`` text: set or drop an option, drop a section.

Asterisk config files are ini-like, but a section name may repeat (``[pstn]`` as an aor and
as an endpoint) and an option may repeat (``allow = ulaw``, ``allow = alaw``). These helpers
work line by line and never reorder or reformat what they do not touch.
"""

from __future__ import annotations

import re

__all__ = ["drop_option", "drop_section", "set_option"]

_SECTION = re.compile(r"^\s*\[([^\]]+)\]")
_OPTION = re.compile(r"^(\s*)([A-Za-z0-9_.-]+)(\s*=>?\s*)([^;]*?)(\s*(;.*)?)$")


def _sections(lines: list[str]) -> list[str | None]:
    """The section each line belongs to (None before the first header)."""
    current: str | None = None
    owners: list[str | None] = []
    for line in lines:
        match = _SECTION.match(line)
        if match:
            current = match.group(1).strip()
        owners.append(current)
    return owners


def set_option(text: str, section: str, key: str, value: str, *, type_: str | None = None) -> str:
    """Set ``key`` in every ``[section]`` (whose ``type`` is ``type_``, when given).

    Raises ``KeyError`` when no such option exists, so a template change cannot silently
    make an edit a no-op.
    """
    lines = text.splitlines()
    owners = _sections(lines)
    wanted = _typed_blocks(lines, owners, section, type_)
    changed = False
    for index, line in enumerate(lines):
        if index not in wanted or _SECTION.match(line):
            continue
        match = _OPTION.match(line)
        if match and match.group(2) == key:
            lines[index] = f"{match.group(1)}{key}{match.group(3)}{value}{match.group(5)}"
            changed = True
    if not changed:
        raise KeyError(f"no option {key!r} in section [{section}]")
    return "\n".join(lines) + "\n"


def drop_option(text: str, section: str, key: str, *, type_: str | None = None) -> str:
    """Remove every ``key`` line from ``[section]`` (whose ``type`` is ``type_``, when given)."""
    lines = text.splitlines()
    wanted = _typed_blocks(lines, _sections(lines), section, type_)
    kept = [
        line
        for index, line in enumerate(lines)
        if not (
            index in wanted and (match := _OPTION.match(line)) is not None and match.group(2) == key
        )
    ]
    if len(kept) == len(lines):
        raise KeyError(f"no option {key!r} in section [{section}]")
    return "\n".join(kept) + "\n"


def drop_section(text: str, section: str) -> str:
    """Remove every ``[section]`` block, header included."""
    lines = text.splitlines()
    owners = _sections(lines)
    kept = [line for line, owner in zip(lines, owners, strict=True) if owner != section]
    if len(kept) == len(lines):
        raise KeyError(f"no section [{section}]")
    return "\n".join(kept) + "\n"


def _typed_blocks(
    lines: list[str], owners: list[str | None], section: str, type_: str | None
) -> set[int]:
    """Indexes of the lines in the blocks named ``section`` (and of type ``type_``)."""
    blocks: list[list[int]] = []
    for index, line in enumerate(lines):
        if owners[index] != section:
            continue
        if _SECTION.match(line) or not blocks:
            blocks.append([])
        blocks[-1].append(index)
    if type_ is not None:
        blocks = [block for block in blocks if _block_type(lines, block) == type_]
    return {index for block in blocks for index in block}


def _block_type(lines: list[str], block: list[int]) -> str | None:
    for index in block:
        match = _OPTION.match(lines[index])
        if match and match.group(2) == "type":
            return match.group(4).strip()
    return None
