"""Numbers, units and ranges as papers write them, normalised.

`38,932` -> 38932; `3.83×`, `4.4x`, `4.4 times`, `58x`, `twice` -> unit x; en and em dashes
in ranges (`16–32`, `B=16–32`); FPS / samples/s / images per second -> images/s; ms / µs / s;
percentages. Every function keeps character offsets, so spans point into the sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..units import MICRO

# One character in, one character out: offsets into the prepared text are offsets into the sentence.
_PREP = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
                       "\u00d7": "x", "\u03bc": "\u00b5", "\u2248": "~", "\u2264": "<", "\u2265": ">",
                       "\u00a0": " "})

NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = re.compile(rf"(?<![\w.#/^])(?:{NUM})")
KILO = re.compile(r"[kK](?=\s*(?:images|imgs|samples|frames|inferences|tokens|queries|requests|FPS|fps|ips|img)\b)")

# (pattern, canonical unit, category); order matters: longer and more specific first.
_UNITS = [
    (r"(?:x|X)(?![A-Za-z0-9])|-?fold\b|\s*times\b", "x", "ratio"),
    (r"\s*(?:%|percent\b|per\s?cent\b)", "%", "percent"),
    (r"\s*percentage points?\b|\s*pp\b", "pp", "percent_points"),
    (r"\s*(?:images?|imgs?|samples?|frames?|inferences?|predictions?)\s*(?:/\s*s(?:ec)?\b|per\s+s(?:ec(?:ond)?)?\b)"
     r"|\s*(?:fps|FPS|img/s|ips)\b", "images/s", "throughput"),
    (r"\s*(?:queries|requests|reqs?|sequences|sentences)\s*(?:/\s*s\b|per\s+second\b)|\s*(?:qps|QPS|rps|RPS)\b", "queries/s", "throughput"),
    (r"\s*(?:(?:output|generated|input|prompt)\s+)?(?:tokens?|tok)\s*(?:/\s*s\b|per\s+second\b|/\s*sec\b)", "tokens/s", "throughput"),
    (r"\s*(?:ms|msec|milliseconds?)\b", "ms", "time"),
    (rf"\s*(?:[{MICRO}]s|usec|microseconds?)\b", "\u00b5s", "time"),  # NFKC turns the micro sign into Greek mu
    (r"\s*(?:ns|nanoseconds?)\b", "ns", "time"),
    (r"\s*(?:s|sec|secs|seconds?)\b(?!/)", "s", "time"),
    (r"\s*(?:minutes?|mins?)\b", "min", "time"),
    (r"\s*(?:hours?|hrs?)\b", "h", "time"),
    (r"\s*(?:TB/s|TBps|TB per second)", "TB/s", "bandwidth"),
    (r"\s*(?:GB/s|GBps|GB per second)", "GB/s", "bandwidth"),
    (r"\s*(?:MB/s|MBps)", "MB/s", "bandwidth"),
    (r"\s*(?:TFLOPs?/s|TFLOPS|TFLOPs|teraflops)(?:/s)?\b", "TFLOP/s", "compute"),
    (r"\s*(?:TOPS|TOP/s)\b", "TOPS", "compute"),
    (r"\s*(?:GFLOP/s|GFLOPS)\b", "GFLOP/s", "compute"),
    (r"\s*(?:GMACs?|billion multiply-(?:adds|accumulates))\b", "GMAC", "compute"),
    (r"\s*GFLOPs?\b", "GFLOP", "compute"),
    (r"\s*(?:mJ|millijoules?)\b", "mJ", "energy"),
    (r"\s*(?:J|joules?)\b(?:\s*(?:/|per)\s*(?:image|item|sample|inference))?", "J", "energy"),
    (r"\s*(?:kW)\b", "kW", "power"),
    (r"\s*(?:W|watts?)\b", "W", "power"),
    (r"\s*(?:TB|TiB)\b(?!/)", "TB", "memory"),
    (r"\s*(?:GB|GiB)\b(?!/)", "GB", "memory"),
    (r"\s*(?:MB|MiB)\b(?!/)", "MB", "memory"),
    (r"(?:B\b|\s*billion\b)", "B", "params"),
    (r"(?:M\b|\s*million\b)", "M", "params"),
    (r"\s*experts?\s+per\s+token\b", "experts/token", "experts"),
    (r"\s*(?:iterations?|epochs?|runs?|repeats?|layers?|experts?|tokens?|images?|questions?|pairs?|steps?|"
     r"threads?|cores?|GPUs?|nodes?|servers?|models?|papers?|tasks?|datasets?|categories|classes|types?|"
     r"kinds?|scenarios?|warm-up|timed|seeds?|bits?|requests?|users?|cards?|sequences?)\b", "count", "count"),
]
_UNIT_RE = [(re.compile(p), u, c) for p, u, c in _UNITS]

_WORD_TIMES = re.compile(r"(?<![A-Za-z])(twice|two times|three times|four times|five times|six times|"
                         r"seven times|eight times|nine times|ten times|double|triple|halve[sd]?)(?![A-Za-z])",
                         re.IGNORECASE)
_WORD_VALUE = {"twice": 2, "double": 2, "triple": 3, "halve": 0.5, "halves": 0.5, "halved": 0.5}
_WORD_VALUE.update({f"{w} times": i for i, w in enumerate(
    "two three four five six seven eight nine ten".split(), start=2)})

# Things that look like numbers but are not quantities: dimensions, references, versions, ordinals.
_MASKS = re.compile(
    r"\b\d+(?:x\d+)+\b"                                                    # 224x224, 8x7B
    r"|\b(?:Table|Tab\.|Figure|Fig\.|Figs\.|Section|Sec\.|Eq\.|Equation|Appendix|Algorithm|Step|Chapter|"
    r"Listing|Line|Ref\.)\s*\d+(?:\.\d+)*[a-z]?"
    r"|\bv\d+(?:\.\d+)*\b|\b(?:in|since|until|from|of)\s+(?:19|20)\d\d\b(?![\d.,%x]|\s*(?:ms|s|images|FPS))"  # v3.1, years
    r"|\b\d+(?:st|nd|rd|th)\b|\[\d+(?:[,-]\s*\d+)*\]",
)


@dataclass
class Quantity:
    """A number (or a range of two) with its canonical unit, category and span."""
    value: float
    raw: str
    start: int
    end: int
    unit: str | None = None
    category: str | None = None
    high: float | None = None
    raw_high: str | None = None
    negative: bool = False


def prepare(text: str) -> str:
    """Map dashes, ×, µ/μ, ≈ and no-break spaces to ASCII-like stand-ins, one char per char."""
    return text.translate(_PREP)


def mask(text: str, spans) -> str:
    """Replace each (start, end) span with '#'s of the same length."""
    chars = list(text)
    for s, e in spans:
        chars[s:e] = "#" * (e - s)
    return "".join(chars)


def mask_non_quantities(text: str) -> str:
    """Hide dimensions (224x224), references (Table 3), versions (v3.1), years and ordinals."""
    return mask(text, [(m.start(), m.end()) for m in _MASKS.finditer(text)])


def to_float(raw: str) -> float:
    """'38,932' -> 38932.0; '12,881.7' -> 12881.7."""
    return float(raw.replace(",", ""))


def _unit_at(text: str, pos: int):
    for rx, unit, cat in _UNIT_RE:
        m = rx.match(text, pos)
        if m:
            return unit, cat, m.end()
    return None, None, pos


_RANGE_JOIN = re.compile(r"\s*(?:-|to|and)\s*(?:about|around|roughly|approximately|nearly)?\s*$")


def scan(text: str) -> list[Quantity]:
    """Quantities in a prepared, masked text; 'A-B', 'A to B', 'A and B' with one unit become ranges."""
    singles = []
    for m in _NUMBER.finditer(text):
        kilo = KILO.match(text, m.end())
        unit, cat, end = _unit_at(text, kilo.end() if kilo else m.end())
        neg = m.start() > 0 and text[m.start() - 1] == "-" and (m.start() < 2 or not text[m.start() - 2].isalnum())
        value = to_float(m.group(0)) * (1000 if kilo else 1)
        singles.append(Quantity(value, m.group(0), m.start(), end, unit, cat, negative=neg))
    for m in _WORD_TIMES.finditer(text):
        word = m.group(1).lower()
        singles.append(Quantity(float(_WORD_VALUE.get(word, 2)), word, m.start(), m.end(), "x", "ratio"))
    singles.sort(key=lambda q: q.start)
    out: list[Quantity] = []
    for q in singles:
        prev = out[-1] if out else None
        if prev is not None and prev.high is None and q.raw[0].isdigit() and prev.raw[0].isdigit():
            gap = text[prev.end:q.start]
            joined = _RANGE_JOIN.match(gap) and len(gap) <= 24
            if joined and " and " in f" {gap} " and not re.search(r"between\s*$", text[max(0, prev.start - 30):prev.start]):
                joined = False  # "A and B" is a range only after "between"
            if joined and (prev.unit is None or prev.unit == q.unit) and q.unit not in ("count",):
                prev.high, prev.raw_high, prev.end = q.value, q.raw, q.end
                prev.unit, prev.category = q.unit, q.category
                if gap.strip().startswith("-") and q.negative:
                    q.negative = False
                continue
        if q.negative and prev is not None and prev.end == q.start - 1:
            q.negative = False  # "16-32" is a range, not 16 and -32
        out.append(q)
    return out
