"""Errors a user can meet while rendering or checking a report."""
from ..errors import SovereignError


class ReportError(SovereignError):
    """A report could not be drawn or measured (no Chromium, a page that never finished drawing)."""
