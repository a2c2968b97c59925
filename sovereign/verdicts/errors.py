"""Failures of the verdicts stage a user can meet, each saying what to do."""
from __future__ import annotations

from ..errors import SovereignError


class VerdictConfigError(SovereignError):
    """A `verdicts:` or `tribunal:` setting is invalid; the message names the key."""


class HardwareSpecError(SovereignError):
    """config/devices.yaml is missing or malformed; the message names the entry."""


class LLMBackendError(SovereignError):
    """The optional LLM role endpoint failed or answered something unusable."""
