"""Conditions of LLM-serving claims: input and output lengths, concurrency, and whether tokens/s is per sequence.

Papers write "input length 512, output length 128", "512/128 input/output tokens", "a 2,048-token
prompt generating 128 new tokens", "ISL 128 / OSL 2048", "64 concurrent requests", "per-user
tokens/s" or "aggregate throughput". The numbers of these phrases are conditions of the claim,
never claims themselves (their spans are hidden from the claim reader).
"""
from __future__ import annotations

import re

from .numbers import NUM, to_float

_K = r"(?P<k>k)?"
INPUT_LEN = [
    re.compile(rf"\b(?:input|prompt)[\s-]*(?:sequence[\s-]+)?(?:length|len|size)s?\s*(?:of|=|:|is)?\s*(?P<n>{NUM}){_K}"
               r"(?:[\s-]*tokens?)?", re.I),
    re.compile(rf"(?<![\w.,])(?P<n>{NUM}){_K}[\s-]*(?:input|prompt)[\s-]+tokens?\b", re.I),
    re.compile(rf"\bprompts?\s+(?:of|with)\s+(?P<n>{NUM}){_K}\s+tokens?\b", re.I),
    re.compile(rf"(?<![\w.,])(?P<n>{NUM}){_K}[\s-]*tokens?[\s-]+(?:long[\s-]+)?prompts?\b", re.I),
    re.compile(rf"\bISL\s*(?:of|=|:)?\s*(?P<n>{NUM}){_K}"),
]
OUTPUT_LEN = [
    re.compile(rf"\b(?:output|generation|decode|response)[\s-]*(?:sequence[\s-]+)?(?:length|len)s?\s*(?:of|=|:|is)?"
               rf"\s*(?P<n>{NUM}){_K}(?:[\s-]*tokens?)?", re.I),
    re.compile(rf"(?<![\w.,])(?P<n>{NUM}){_K}[\s-]*(?:output|generated|new|decoded?)[\s-]+tokens?\b"
               r"(?!\s*(?:/|per\s+s))", re.I),
    re.compile(rf"\bgenerat\w*\s+(?P<n>{NUM}){_K}\s+(?:new\s+|output\s+)?tokens?\b(?!\s*(?:/|per\s+s))", re.I),
    re.compile(rf"\bmax_new_tokens\s*=\s*(?P<n>{NUM})", re.I),
    re.compile(rf"\bOSL\s*(?:of|=|:)?\s*(?P<n>{NUM}){_K}"),
]
# "input/output lengths of 512/128", "512/128 input/output tokens", "(input, output) = (1024, 256)"
PAIR = [
    re.compile(rf"\binput\s*/\s*output\s+(?:sequence\s+)?(?:lengths?|tokens)\s*(?:of|=|:)?\s*(?P<i>{NUM})\s*/\s*(?P<o>{NUM})",
               re.I),
    re.compile(rf"(?<![\w.,])(?P<i>{NUM})\s*/\s*(?P<o>{NUM})\s+input\s*/\s*output\b(?:\s+(?:tokens|lengths?))?", re.I),
    re.compile(rf"\(\s*input\s*,\s*output\s*\)\s*=\s*\(\s*(?P<i>{NUM})\s*,\s*(?P<o>{NUM})\s*\)", re.I),
]
CONCURRENCY = [
    re.compile(rf"(?<![\w.,])(?P<n>{NUM})\s+(?:concurrent|parallel|simultaneous)\s+(?:requests|users|clients|streams|"
               r"sequences|queries)\b", re.I),
    re.compile(rf"\bconcurrency\s*(?:level\s*)?(?:of|=|:)?\s*(?P<n>{NUM})", re.I),
]
PER_SEQUENCE = re.compile(r"\bper[\s-](?:user|request|sequence|stream|query)\b|\bsingle[\s-](?:stream|user|request|"
                          r"sequence)\b|\bfor\s+(?:a|one|each)\s+(?:single\s+)?(?:user|request|sequence)\b", re.I)
AGGREGATE = re.compile(r"\b(?:aggregate|total|overall|system|combined|cumulative)\s+(?:\w+\s+){0,2}?"
                       r"(?:throughput|tokens?\b)|\bin\s+total\b|\bacross\s+(?:all\s+)?(?:requests|users|sequences)\b|"
                       r"\b(?:generation|output)\s+throughput\b", re.I)
_TOKENS = re.compile(r"\btok(?:en)?s?\s*(?:/|per)\s*s", re.I)


def _num(m: re.Match, g: str = "n") -> str:
    v = to_float(m.group(g)) * (1000 if (m.groupdict().get("k") and g == "n") else 1)
    return str(int(v)) if float(v).is_integer() else str(v)


def llm_conditions(p: str) -> tuple[dict, list[tuple[int, int]]]:
    """LLM conditions of a prepared sentence (input_len, output_len, concurrency, token_scope) and their spans."""
    out, spans = {}, []
    for rx in PAIR:
        for m in rx.finditer(p):
            out.setdefault("input_len", _num(m, "i"))
            out.setdefault("output_len", _num(m, "o"))
            spans.append((m.start(), m.end()))
    for name, rxs in (("input_len", INPUT_LEN), ("output_len", OUTPUT_LEN), ("concurrency", CONCURRENCY)):
        for rx in rxs:
            for m in rx.finditer(p):
                if any(a <= m.start() < b for a, b in spans):
                    continue
                out.setdefault(name, _num(m))
                spans.append((m.start(), m.end()))
    if _TOKENS.search(p):  # whose tokens/s: one sequence's, or all sequences' together
        if PER_SEQUENCE.search(p):
            out["token_scope"] = "per_sequence"
        elif AGGREGATE.search(p):
            out["token_scope"] = "aggregate"
    return out, spans
