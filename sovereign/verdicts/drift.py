"""Topic drift between a study's question and the evidence it kept."""
from __future__ import annotations

import re

from ..text import has_word

STOP = set("""a an and are as at be between by can compare compared comparison does do for from how in into is it its
of on or over than that the their these this to under versus vs what when where which while with without across
varying various like e.g eg such standard between among using use used based study effect effects impact affect
affects does do better worse faster slower different differ differences relative""".split())
GENERIC = set("""performance results result evaluation model models method methods approach approaches benchmark
benchmarks strategy strategies baseline baselines fixed""".split())


def _stem(w: str) -> str:
    for suf in ("ies", "es", "s"):
        if len(w) > 4 and w.endswith(suf) and not w.endswith("ss"):
            return w[: -len(suf)] + ("y" if suf == "ies" else "")
    return w


def key_terms(question: str) -> tuple[list[str], list[str]]:
    """(name terms, content terms) of a question: names are capitalised, mixed-case, hyphenated or digit-bearing."""
    names, content = [], []
    for tok in re.findall(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*", question):
        base = tok.split("'")[0]
        low = base.lower()
        if low in STOP or len(low) < 2:
            continue
        is_name = (any(c.isdigit() for c in base) or "-" in base or (base[0].isupper() and not question.startswith(base))
                   or any(c.isupper() for c in base[1:]))
        if is_name and low not in names and low not in {"nvidia"}:
            names.append(low)
        if low not in GENERIC and len(low) >= 3 and _stem(low) not in {_stem(c) for c in content} and not is_name:
            content.append(low)
    return names, content


def _present(term: str, text: str, words: set[str]) -> bool:
    if "-" in term or any(c.isdigit() for c in term):
        # whole words: "l4" must not be found inside "l40s", nor "t4" inside "t400"
        forms = {term, term.replace("-", " "), term.replace("-", "")}
        return any(has_word(text, f) for f in forms)
    return term in words or _stem(term) in words


def check_drift(question: str, screening: dict, evidence_text: str, min_share: float) -> dict:
    """Drift verdict: the screening's study_drift flag, plus question terms absent from the kept evidence."""
    text = evidence_text.lower()
    words = {_stem(w) for w in re.findall(r"[a-z][a-z0-9]*", text)}
    names, content = key_terms(question)
    missing_names = [t for t in names if not _present(t, text, words)]
    missing_content = [t for t in content if not _present(t, text, words)]
    reasons = []
    if screening.get("study_drift"):
        reasons.append(f"screening flagged study drift ({screening.get('drift_reason') or 'no reason given'})")
    name_share = 1 - len(missing_names) / len(names) if names else 1.0
    content_share = 1 - len(missing_content) / len(content) if content else 1.0
    if names and name_share < min_share:
        reasons.append(f"named terms of the question absent from the kept evidence: {', '.join(missing_names)} "
                       f"({len(names) - len(missing_names)} of {len(names)} found)")
    if content and content_share < min_share:
        reasons.append(f"question terms absent from the kept evidence: {', '.join(missing_content)} "
                       f"({len(content) - len(missing_content)} of {len(content)} found)")
    if not text.strip():
        reasons.append("no kept evidence at all")
    return {"drift": bool(reasons), "reasons": reasons, "name_terms": names, "content_terms": content,
            "missing_names": missing_names, "missing_content": missing_content,
            "name_share": round(name_share, 3), "content_share": round(content_share, 3)}
