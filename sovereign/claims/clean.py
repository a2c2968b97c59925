"""LaTeX and PDF-extraction residue in sentences, rewritten to the plain text a reader sees.

`3$\\times$`, `4\\times`, `7.3\\texttimes{}` -> `3x`; `$39\\%$`, `39\\%` -> `39%`; `%27` -> `27%`;
`12.4\\,ms`, `3.4~ms` -> `12.4 ms`; `\\textbf{X}` -> `X`; `1.5 ×over` -> `1.5x over`; a ratio
whose × was lost (`a 2.9 speedup`, `1.4 higher throughput than`) gets it back. The parser reads
the cleaned text; the claim keeps the sentence as the paper wrote it.
"""
from __future__ import annotations

import re

_TIMES = re.compile(r"\s*\$?\s*\\(?:times|texttimes)\b\s*(?:\{\})?\s*\$?")
_PERCENT = re.compile(r"\\%")
_SPACE_MACRO = re.compile(r"\\[,;: ]|\\(?:thinspace|enspace|quad)\b\s*|(?<=\d)~(?=[A-Za-z])")
_STYLE = re.compile(r"\\(?:textbf|textit|emph|texttt|textsc|mathrm|mathbf|text|underline)\s*\{([^{}]*)\}")
_MACRO = re.compile(r"\\[A-Za-z]+\*?(?:\{\})?")
_DOLLAR = re.compile(r"\$")
_BRACES = re.compile(r"\{\}")
_GLUED_TIMES = re.compile(r"(?<=\d)\s*\u00d7\s*(?=[A-Za-z])")
_LEADING_PERCENT = re.compile(r"(?<![\w%])%(\d+(?:\.\d+)?)(?![\w.]*%)")
# "a 2.9 speedup", "1.4 higher throughput than": a small decimal directly before a comparative
# word is a ratio whose × sign the PDF lost (integers may be lost percentages, so they stay).
_LOST_TIMES = re.compile(r"(?<![\w.,%])(\d{1,2}\.\d{1,2})\s+(?=(?:speed-?ups?|faster|slower|(?:higher|lower|more|less)\s+"
                         r"(?:\w+\s+){0,2}?(?:throughput|latency|memory|than)|(?:throughput|latency)\s+(?:gain|improvement|reduction))\b)",
                         re.I)
_HAS_RESIDUE = re.compile(r"[\\$%~\u00d7]|\d\.\d+\s+[a-z]")


def clean_residue(sentence: str) -> str:
    """The sentence with LaTeX macros, math dollars and PDF glitches around numbers rewritten."""
    if not _HAS_RESIDUE.search(sentence):
        return sentence  # the common case: nothing to do, and cheap
    s = _TIMES.sub("x ", sentence)
    s = _PERCENT.sub("%", s)
    s = _SPACE_MACRO.sub(" ", s)
    for _ in range(2):  # \textbf{\emph{X}}
        s = _STYLE.sub(r"\1", s)
    s = _MACRO.sub("", s)
    s = _DOLLAR.sub("", s)
    s = _BRACES.sub("", s)
    s = _GLUED_TIMES.sub("x ", s)
    s = _LEADING_PERCENT.sub(r"\1%", s)
    s = _LOST_TIMES.sub(r"\1x ", s)
    s = re.sub(r"(?<=\d)x\s+(?=[,.;:)])", "x", s)
    return " ".join(s.split())
