"""Exceptions a user can meet, each with a message that says what to do."""


class SovereignError(Exception):
    """Base class for every error sovereign raises on purpose."""


class ConfigError(SovereignError):
    """The configuration does not match the schema; the message names the key."""


class CorpusError(SovereignError):
    """An offline corpus file is missing or holds a malformed record."""


class ArxivError(SovereignError):
    """The arXiv API could not be reached or answered with something unusable."""


class EmbeddingError(SovereignError):
    """The embedding backend could not be loaded or the endpoint failed."""


class WarehouseError(SovereignError):
    """The DuckDB warehouse is missing, locked, or an input lacks contract columns."""
