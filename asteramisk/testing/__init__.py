"""Test your Asteramisk app against a real Asterisk: the sandbox and its helpers."""

from asteramisk.testing.sandbox import Sandbox, SandboxSettings

__all__ = ["Sandbox", "SandboxSettings"]
