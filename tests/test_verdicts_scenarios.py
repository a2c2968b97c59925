"""The tribunal, calibrated: every labelled scenario decides as a careful reviewer would, for the reason given.

The rubric's weights (sovereign/verdicts/rubric.py) are pinned by these cases: the perturbation tests below
change one weight at a time and show that some scenario then decides otherwise, so a weight change that
flips a labelled decision fails this file."""
from __future__ import annotations

import pytest
import scenarios

from sovereign.verdicts.rubric import WEIGHTS

CASES = scenarios.load()


@pytest.mark.parametrize("scn", CASES, ids=[c["name"] for c in CASES])
def test_scenario_decides_as_labelled(scn, tmp_path):
    v = scenarios.run(scn, tmp_path)
    print(f"\nSCENARIO {scn['name']}: expected {scn['expected']}, got {v['decision']}, score {v['score']:.2f}")
    assert v["decision"] == scn["expected"], (v["reasons"], scn["reason"])
    assert scn["reason_has"].lower() in " ".join(v["reasons"]).lower(), v["reasons"]
    off = {c["claim_id"] for c in v["_frame"]["off_frame"]}
    assert off == set(scn.get("off_frame", off)), v["_frame"]["off_frame"]
    if scn.get("answered"):
        answered = [c for c in v["_answer"]["comparisons"] if c["measured"]]
        assert scn["answered"] in [c["comparison"] for c in answered], v["_answer"]["summary"]


def test_scenarios_cover_the_cases_the_issue_names():
    decisions = {c["expected"] for c in CASES}
    assert len(CASES) >= 12 and decisions == {"ACCEPT", "REVISE", "REJECT", "ESCALATE_TO_OWNER"}


def _decisions(tmp_path, weights) -> dict[str, str]:
    return {c["name"]: scenarios.run(c, tmp_path / c["name"], weights)["decision"] for c in CASES}


@pytest.mark.parametrize("change", [{"reproduced": 0.6}, {"skeptic_share": 0.9}, {"drift": 0.0, "drift_cap": 10.0}],
                         ids=["reproduced-halved", "skeptic-dominant", "no-drift-penalty"])
def test_a_changed_weight_flips_a_labelled_decision(change, tmp_path):
    assert set(change) <= set(WEIGHTS)
    got = _decisions(tmp_path, change)
    flipped = {n: d for n, d in got.items() if d != next(c["expected"] for c in CASES if c["name"] == n)}
    assert flipped, f"changing {change} flips no scenario: the scenarios would not guard this weight"
