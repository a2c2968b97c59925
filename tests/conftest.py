"""Shared fixtures: paths, a small config, a loopback HTTP server."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture()
def base_config() -> dict:
    """A deep copy of the default config as a dict."""
    return copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
