"""Failures of the benchmark harness a user can meet, each saying what to do."""
from __future__ import annotations

from ..errors import SovereignError


class BenchConfigError(SovereignError):
    """A benchmark setting is invalid; the message names the key."""


class BackendUnavailable(SovereignError):
    """A backend cannot run here (library missing, provider absent, silent fallback)."""


class DeviceMismatchError(SovereignError):
    """The GPU found is not the one the device entry names (set allow_mismatch to record it instead)."""
