"""Failures of the claims stage a user can meet, each saying what to do."""
from __future__ import annotations

from ..errors import SovereignError


class VocabError(SovereignError):
    """The claims vocabulary file is missing or malformed; the message names the entry."""


class ClaimsInputError(SovereignError):
    """An input of extract_claims / ground_claims lacks a column or cannot be read."""


class ClaimsConfigError(SovereignError):
    """A `claims:` setting is invalid; the message names the key."""


class ClaimsLLMError(SovereignError):
    """The OpenAI-compatible endpoint of the `openai` claims backend failed; the message names it."""
