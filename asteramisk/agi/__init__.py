"""The AGI layer: the sans-I/O codec, the command set (``core``) and the FastAGI server."""

from asteramisk.agi import core
from asteramisk.agi.server import AGI, FastAGIServer, Handler

__all__ = ["AGI", "FastAGIServer", "Handler", "core"]
