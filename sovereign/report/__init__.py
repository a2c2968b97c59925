"""render_report: one self-contained HTML page per study (works offline; every field escaped)."""
from .render_html import render_report

__all__ = ["render_report"]
