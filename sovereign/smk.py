"""Glue for rule scripts: log to the rule's log file, turn known errors into a clear exit."""
from __future__ import annotations

import logging
import sys

from .errors import SovereignError


def setup_logging(log_path: str | None = None, level=logging.INFO) -> None:
    """Send log records to stderr and, when given, to the rule's log file."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)


def run_stage(snakemake, func, **kwargs):
    """Call one package function for a rule; a SovereignError ends the job with its message."""
    log_files = list(getattr(snakemake, "log", []) or [])
    setup_logging(log_files[0] if log_files else None)
    try:
        return func(**kwargs)
    except SovereignError as exc:
        logging.getLogger("sovereign").error("%s", exc)
        sys.exit(f"sovereign: {exc}")
