"""Shared fixtures: paths, a small config, a loopback HTTP server."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Lines a test wants in the run's summary (e.g. the Slurm test's phase timings), printed at the end.
SUMMARY_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if SUMMARY_LINES:
        terminalreporter.section("sovereign timings")
        for line in SUMMARY_LINES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture()
def base_config() -> dict:
    """A deep copy of the default config as a dict."""
    return copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))


SAMPLE_RECORDS = [
    {"id": "2604.14552", "title": "DEEP-GAP: Deep-learning Evaluation of Execution Parallelism in GPU Architectural Performance",
     "authors": ["Kathiravan Palaniappan"], "published": "2026-04-16", "categories": ["cs.PF", "cs.AR"],
     "abstract": "Compares NVIDIA T4 and L4 inference GPUs on ResNet models across precisions and batch sizes."},
    {"id": "2511.18314", "title": "AnyExperts: On-Demand Expert Allocation for Multimodal Language Models with Mixture of Expert",
     "authors": ["Yuting Gao", "Wang Lan"], "published": "2025-11-23", "categories": ["cs.CV", "cs.LG"],
     "abstract": "On-demand expert routing with a variable number of expert slots per token."},
    {"id": "1412.6980", "title": "Adam: A Method for Stochastic Optimization", "authors": ["Diederik P. Kingma", "Jimmy Ba"],
     "published": "2014-12-22", "categories": ["cs.LG"], "abstract": "An adaptive optimizer."},
]


@pytest.fixture()
def arxiv_server():
    """A loopback arXiv API server holding three sample records."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from arxiv_server import ArxivTestServer

    with ArxivTestServer([dict(r) for r in SAMPLE_RECORDS]) as srv:
        yield srv
