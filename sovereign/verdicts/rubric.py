"""The tribunal's rubric: every weight in one place, each with its reason, and the decision policy.

Scores (0-10):
  VALIDATOR (what verifies) = reproduced claims x reproduced (max reproduced_max)
      + frame comparisons this run answered by measurement x answered (max answered_max)
      + papers with a claim reproduced by measurement, beyond the first, x sources (max sources_max)
      + structurally corroborated claims x corroborated (max corroborated_max)
      + tested_share x the share of empirical on-frame claims tested.
  SKEPTIC (what refutes) = 10 + drift + contradicted x n (max) + not_reproduced x n (max) + implausible x n (max)
      + conflict x pairs of papers that disagree (max) + ungrounded x claims grounding failed (max)
      + weakness x method weaknesses (max)
      + unanswered x comparisons no measurement answers + untestable_majority when most claims are untestable.
  SYNTHESIZER = VALIDATOR x (SKEPTIC / 10) ^ skeptic_power: the support that survives the objections (a study
      with nothing verified scores 0 however little is objected), capped at drift_cap under topic drift and at
      contradiction_cap when a claim is contradicted; it writes the decision below.

Decision (first rule that applies):
  round 1 and score < revision_below       -> REVISE (a revision round gathers more evidence)
  topic drift of the question frame         -> REJECT
  a claim contradicted by measurement       -> REJECT
  a physically implausible on-frame figure  -> REJECT (physics refutes it without a measurement)
  papers that disagree, no measurement settles it -> ESCALATE_TO_OWNER (naming the device that would)
  score >= accept_score and verified >= min_verified:
      a method weakness bearing on the verified claims -> REVISE, else ACCEPT
  otherwise                                 -> ESCALATE_TO_OWNER, naming what would test the untested claims.
`verified` counts REPRODUCED claims measured by this run (reference rows only with verdicts.reference_decides),
exact device matches (class matches only with verdicts.count_class_matches), never CONDITIONAL ones.
The labelled scenarios in tests/fixtures/scenarios.yaml pin these weights: tests/test_verdicts_scenarios.py
fails when a change of weight flips one of their decisions.
"""
from __future__ import annotations

WEIGHTS: dict[str, float] = {
    # a claim this run reproduced is the strongest evidence a study has; five of them fill the cap
    "reproduced": 1.2, "reproduced_max": 6.0,
    # the study exists to answer its question: each comparison answered by measurement counts
    "answered": 1.0, "answered_max": 2.0,
    # reproductions spread over independent papers are worth more than many from one paper
    "sources": 0.5, "sources_max": 1.5,
    # corroboration by another paper's structured claim is weaker than a measurement
    "corroborated": 0.25, "corroborated_max": 1.0,
    # coverage: the share of empirical claims tested at all
    "tested_share": 1.0,
    # evidence about another question cannot support this one, however good it is
    "drift": -5.0,
    # a measurement that refutes a claim by more than the contradiction factor
    "contradicted": -2.0, "contradicted_max": 4.0,
    # not reproduced within tolerance but not refuted: weak evidence against
    "not_reproduced": -0.5, "not_reproduced_max": 2.0,
    # a figure no utilisation of the named hardware could produce
    "implausible": -1.0, "implausible_max": 2.0,
    # two papers disagree about the same subject and metric
    "conflict": -1.0, "conflict_max": 2.0,
    # a claim whose numbers grounding could not find in its cited paper (a verbatim claim is never penalised
    # nor rewarded for grounding: it is its own sentence)
    "ungrounded": -0.25, "ungrounded_max": 1.0,
    # a weakness of method visible in the papers or the measurements
    "weakness": -0.5, "weakness_max": 1.5,
    # a comparison of the question that no measurement of this run answers
    "unanswered": -0.5, "unanswered_max": 1.0,
    # most claims untestable here: the verdict rests on little
    "untestable_majority": -1.0,
    # each point of objection removes a tenth of the support (1: proportionally; above 1 objections weigh more)
    "skeptic_power": 1.0,
    "drift_cap": 3.0, "contradiction_cap": 4.0,
}


def capped(n: int, weights: dict, name: str) -> float:
    """n times the weight `name`, bounded by `name`_max (in magnitude)."""
    each, most = weights[name], weights.get(f"{name}_max")
    total = n * each
    return total if most is None else (max(total, -most) if each < 0 else min(total, most))
