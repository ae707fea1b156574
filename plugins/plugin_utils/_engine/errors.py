"""The engine's error types: plain sentences the action plugins show as they are."""

from __future__ import annotations


class InputError(ValueError):
    """A user-supplied value is unusable; the message names the option and the value."""


class SnapshotError(ValueError):
    """The agent's ``read`` result is malformed; the message names the field."""
