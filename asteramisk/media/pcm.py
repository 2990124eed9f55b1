"""``audioop``, the C sample arithmetic every call's audio goes through (RMS, rate change, mixing).

It is the standard library's on Python 3.11 and 3.12 and the ``audioop-lts`` package (the same
C code, a dependency on 3.13 and later) after that; imported here once, without the 3.11/3.12
deprecation warning, which does not concern Asteramisk's users. Chosen over NumPy by
measurement: ``benchmarks/audio_ops.py`` (RMS of a 20 ms frame 13-19x faster, rate change
1.3x, on 3.11, 3.13 and 3.14).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["audioop"]
