"""plan_queries: derive search queries from a research question, deterministically."""
from __future__ import annotations

import hashlib
import re

from ..text import STOPWORDS, normalize

_SPLIT = re.compile(r"[,;:?!()\[\]]|\s+-\s+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-\.]*[A-Za-z0-9]|[A-Za-z0-9]")
_COMPARE = re.compile(r"\b(?:compare[sd]?|comparison|versus|vs\.?|against|relative)\b", re.I)
# Words that frame a question but say nothing about its topic.
_FRAME = frozenset("how does do what which is are whether there".split())


def query_id(text: str) -> str:
    """A stable id for a query text: changing the text changes the id, and nothing else does."""
    return "q" + hashlib.sha1(normalize(text).lower().encode()).hexdigest()[:10]


def _is_entity(word: str, first: bool) -> bool:
    """Names, models, devices, datasets: inner capitals or digits, or capitalised mid-sentence."""
    core = word.rstrip("'s").rstrip("'")
    if any(c.isdigit() for c in core) and any(c.isalpha() for c in core):
        return True
    if sum(c.isupper() for c in core) >= 2:
        return True
    return (not first) and core[:1].isupper() and core.lower() not in STOPWORDS


def _phrases(question: str) -> list[list[str]]:
    """Content phrases: runs of non-stopwords between punctuation and stopwords."""
    out = []
    for segment in _SPLIT.split(question):
        run: list[str] = []
        for word in _WORD.findall(segment):
            if word.lower() in STOPWORDS or word.lower() in _FRAME:
                if run:
                    out.append(run)
                run = []
            else:
                run.append(word)
        if run:
            out.append(run)
    return out


def _clean(word: str) -> str:
    return word[:-2] if word.endswith("'s") else word.rstrip("'")


def question_entities(question: str) -> list[str]:
    """Named methods, devices, datasets and models in a question, in order of appearance."""
    words = _WORD.findall(normalize(question))
    out: list[str] = []
    for i, w in enumerate(words):
        cw = _clean(w)
        if _is_entity(w, first=(i == 0)) and cw.lower() not in {e.lower() for e in out}:
            out.append(cw)
    return out


def load_expansions(path) -> list[dict]:
    """Read a query-expansion file (see resources/query_expansions.yaml); a bad entry names its index."""
    import yaml

    from ..errors import ConfigError

    data = yaml.safe_load(open(path, encoding="utf-8")) or {}
    out = []
    for i, entry in enumerate(data.get("expansions", [])):
        when, add = entry.get("when") if isinstance(entry, dict) else None, entry.get("add") if isinstance(entry, dict) else None
        if not (isinstance(when, list) and when and all(isinstance(w, str) for w in when) and isinstance(add, str) and add.strip()):
            raise ConfigError(f"{path}: expansions[{i}] needs `when` (a list of phrases) and `add` (a query text)")
        out.append({"when": when, "add": add.strip()})
    return out


def pinned_query(papers: list[str]) -> dict:
    """The one query of a study pinned to papers: those arXiv ids, fetched by id (no search)."""
    ids = list(dict.fromkeys(p.strip() for p in papers))
    text = "arXiv ids " + ", ".join(ids)
    return {"query_id": query_id(text), "text": text, "origin": "pinned", "ids": ids}


def plan_queries(question: str | None, explicit: list[str] | None = None, minimum: int = 4,
                 expansions: list[dict] | None = None, papers: list[str] | None = None) -> list[dict]:
    """Return [{query_id, text, origin}] for a question; pinned papers, then explicit queries, win when given."""
    if papers:
        return [pinned_query(papers)]
    if explicit:
        seen, out = set(), []
        for q in explicit:
            text = normalize(q)
            if text.lower() not in seen:
                seen.add(text.lower())
                out.append({"query_id": query_id(text), "text": text, "origin": "config"})
        return out

    question = normalize(question)
    entities = question_entities(question)
    phrases = [[_clean(w) for w in p] for p in _phrases(question)]
    # Topic phrases: content phrases that are not just entities, longest (most specific) first.
    topic = [p for p in phrases if any(w not in entities for w in p)]
    topic_words = [w for p in topic for w in p if w not in entities]

    candidates: list[tuple[str, str]] = []
    # 1. key phrases: every content phrase of the question, in order.
    candidates.append(("key_phrases", " ".join(" ".join(p) for p in phrases)))
    # 2. the comparison being asked: the phrase before the comparing word versus the one after.
    m = _COMPARE.search(question)
    if m:
        left = _phrases(question[:m.start()])
        right = _phrases(question[m.end():])
        if left and right:
            l_txt, r_txt = " ".join(map(_clean, left[-1])), " ".join(map(_clean, right[0]))
            head = " ".join(w for w in topic_words[:3] if w not in l_txt.split() + r_txt.split())
            candidates.append(("comparison", f"{l_txt} versus {r_txt} {head}".strip()))
    # 3. named methods, devices and datasets with the main topic words.
    if entities:
        candidates.append(("entities", " ".join(entities[:6] + topic_words[:2])))
    # 3b. the field's own vocabulary, from the expansion file.
    lowered = f" {question.lower()}"
    for exp in expansions or []:
        if any(w.lower() in lowered for w in exp["when"]):
            candidates.append(("expansion", exp["add"]))
    # 4. one query per phrase naming something, with the first topic phrase for context.
    lead = " ".join(topic[0]) if topic else ""
    for p in phrases:
        if any(w in entities for w in p):
            named = " ".join(p)
            candidates.append(("entity", named if lead in named else f"{named} {lead}".strip()))
    # 5. the topic phrases alone, two at a time (dimensions of the question).
    for i in range(0, len(topic), 2):
        candidates.append(("topic", " ".join(" ".join(p) for p in topic[i:i + 2])))
    # 6. sliding windows over topic words, if still short.
    for i in range(0, max(1, len(topic_words) - 2)):
        candidates.append(("window", " ".join(topic_words[i:i + 3])))

    seen, out = set(), []
    for origin, text in candidates:
        text = normalize(text)
        key = " ".join(sorted(text.lower().split()))
        if len(text) < 3 or key in seen:
            continue
        seen.add(key)
        out.append({"query_id": query_id(text), "text": text, "origin": origin})
        if len(out) >= max(minimum, 8):
            break
    if len(out) < minimum:
        raise ValueError(
            f"could only derive {len(out)} distinct queries from the question {question!r}; "
            "give the study explicit `queries` in config"
        )
    return out
