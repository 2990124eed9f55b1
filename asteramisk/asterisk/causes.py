"""Q.850 hangup causes, as Asterisk reports why a call ended, and how to say them."""

from __future__ import annotations

__all__ = ["describe_cause"]

_CAUSES = {
    0: "not answered",
    1: "the number does not exist",
    3: "no route to the number",
    16: "hung up",
    17: "busy",
    18: "no answer (no response)",
    19: "not answered",
    21: "rejected",
    27: "the destination is out of order",
    34: "no circuit available",
    38: "the network is out of order",
}


def describe_cause(cause: int, fallback: str = "") -> str:
    """What Q.850 ``cause`` means for a caller ("busy"); ``fallback`` (Asterisk's own text)
    for a cause without one of ours."""
    return _CAUSES.get(cause, fallback or f"cause {cause}")
