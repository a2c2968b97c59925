"""Seeded synthetic workloads shaped like VQAv2 and Visual7W (shape-matched, not the datasets).

A prefill sample is one image's visual tokens (576 by default, what a LLaVA-style CLIP
encoder emits) followed by its question's tokens; a decode step is one new token per
sample. Question lengths follow simple length models: VQAv2's short questions (mean about
6 words), Visual7W's seven question types with their own lengths, plus its multiple-choice
options. Token importance, the input of on-demand routing, is drawn from one Beta
distribution for visual tokens and another for text tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import WorkloadConfig

# Visual7W question types: (share of questions, mean words). Approximate shape assumptions
# for a synthetic workload, not statistics read off the dataset; 'which' is the pointing type.
VISUAL7W_TYPES = {"what": (0.36, 6.5), "where": (0.12, 6.0), "when": (0.04, 5.5), "who": (0.07, 6.0),
                  "why": (0.05, 8.0), "how": (0.10, 7.0), "which": (0.26, 7.5)}
CHOICE_WORDS = 2.5  # mean words per multiple-choice option


@dataclass
class Batch:
    """Tokens of a batch of samples, packed without padding, with each token's prior importance."""

    workload: str
    phase: str
    samples: int
    importance: np.ndarray  # [T] in (0, 1)
    is_visual: np.ndarray  # [T] bool
    question_tokens: np.ndarray  # [samples]
    question_types: list

    @property
    def tokens(self) -> int:
        """Tokens the MoE layers process for this batch."""
        return int(self.importance.shape[0])


def _words(rng: np.random.Generator, mean: float, size: int = 1) -> np.ndarray:
    """Question lengths in words: 2 + Poisson(mean - 2), at most 30."""
    return np.minimum(2 + rng.poisson(max(mean - 2.0, 0.1), size=size), 30)


def question_lengths(workload: str, samples: int, cfg: WorkloadConfig, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """Question token counts and question types (Visual7W) for `samples` samples."""
    if workload == "vqav2":
        words = _words(rng, cfg.vqav2_mean_words, samples)
        return np.maximum(1, np.rint(words * cfg.tokens_per_word)).astype(int), ["vqav2"] * samples
    if workload != "visual7w":
        raise ValueError(f"unknown workload {workload!r}; use vqav2 or visual7w")
    names = list(VISUAL7W_TYPES)
    shares = np.array([VISUAL7W_TYPES[n][0] for n in names])
    types = rng.choice(len(names), size=samples, p=shares / shares.sum())
    lengths = []
    for t in types:
        words = int(_words(rng, VISUAL7W_TYPES[names[t]][1])[0])
        words += int(rng.poisson(CHOICE_WORDS * cfg.visual7w_choices)) + cfg.visual7w_choices  # options + labels
        lengths.append(max(1, round(words * cfg.tokens_per_word)))
    return np.array(lengths, dtype=int), [names[t] for t in types]


def make_batch(workload: str, phase: str, samples: int, cfg: WorkloadConfig, seed: int) -> Batch:
    """A seeded batch: the same (workload, phase, samples, seed) always gives the same tokens."""
    rng = np.random.default_rng([seed, samples, 0 if workload == "vqav2" else 1, 0 if phase == "prefill" else 1])
    qlen, qtypes = question_lengths(workload, samples, cfg, rng)
    if phase == "decode":
        imp = rng.beta(*cfg.text_importance, size=samples)
        return Batch(workload, phase, samples, imp, np.zeros(samples, dtype=bool), qlen, qtypes)
    if phase != "prefill":
        raise ValueError(f"unknown phase {phase!r}; use prefill or decode")
    parts, vis = [], []
    for q in qlen:
        parts += [rng.beta(*cfg.visual_importance, size=cfg.visual_tokens), rng.beta(*cfg.text_importance, size=int(q))]
        vis += [np.ones(cfg.visual_tokens, dtype=bool), np.zeros(int(q), dtype=bool)]
    return Batch(workload, phase, samples, np.concatenate(parts), np.concatenate(vis), qlen, qtypes)
