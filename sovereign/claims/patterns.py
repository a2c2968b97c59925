"""Word patterns of claim parsing: clauses, batch sizes, qualifiers, comparisons, change words."""
from __future__ import annotations

import re

from .numbers import NUM

BATCH = re.compile(rf"\b(?:(?:mini-?)?batch(?:es)?(?:[\s-]?sizes?)?|bs)\s*(?:=|:|of)?\s*"
                    rf"(?P<pre>from\s+|between\s+|up\s+to\s+)?(?P<a>{NUM})(?:\s*(?:-|to|and)\s*(?P<b>{NUM}))?",
                    re.IGNORECASE)
BATCH_B = re.compile(rf"\bB\s*=\s*(?P<a>{NUM})(?:\s*-\s*(?P<b>{NUM}))?")
SEG = re.compile(r"[,;:]\s+|\s+(?:while|whereas|but|although|though|yet)\s+")
SIZE_AFTER = re.compile(r"[\s-]*(?:#|dense\b|sparse\b|models?\b|moe\b|llms?\b|variants?\b|versions?\b|-param)", re.I)
BATCH_WORD = re.compile(r"\bbatch(?:[\s-]?sizes?)?\b(?:\s+\w+){0,2}\s+from\s*$", re.I)
CONTRAST = re.compile(r"(?:while|whereas|but|although|though|yet|however)\b", re.I)
PEAK = re.compile(r"\b(best|peak\w*|optimal|optimum|sweet spot|highest|maximum|maximal|most efficient|saturat\w*)\b", re.I)
MARKER = re.compile(r"\b(?:than|over|versus|vs\.?|compared (?:with|to)|relative to|against|of|its|their)\s+", re.I)
PHRASE_END = re.compile(r"\s+(?:under|with|on|in|at|for|while|when|using|across|and|by|from|to|running)\s+|[,;:(]")
FRONT_CMP = re.compile(r"^\s*(?:compared (?:with|to)|relative to|versus|vs\.?|over|against)\s+", re.I)
QUAL = [
    ("up_to", re.compile(r"\b(?:up to|as much as|as high as|as many as)\s*$", re.I)),
    ("at_least", re.compile(r"(?:\b(?:at least|more than|over|above|greater than|exceeding|in excess of)|[>])\s*$", re.I)),
    ("at_most", re.compile(r"(?:\b(?:at most|fewer than|less than|under|below|no more than|within|lower than)|[<])\s*$", re.I)),
    ("approx", re.compile(r"(?:\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|close to|some|circa|near)|~)\s*$", re.I)),
]
AFTER_QUAL = [("at_least", re.compile(r"^\s*or more\b", re.I)), ("at_most", re.compile(r"^\s*or (?:less|fewer)\b", re.I))]
DOWN = r"fewer|less|lower|lowers|lowered|lowering|smaller|reduc\w*|cut\w*|drop\w*|fall\w*|fell|decreas\w*|shrink\w*|sav\w*|slower|worse"
UP = r"more|higher|rais\w*|improv\w*|increas\w*|boost\w*|gain\w*|faster|better|greater|larger|speed-?ups?|accelerat\w*"
CHANGE_AFTER = re.compile(rf"\s*(?:({DOWN})|({UP}))\b", re.I)
BY_BEFORE = re.compile(r"\bby\s*(?:up to|about|around|roughly|approximately|nearly|almost|~)?\s*$", re.I)
VERB_DOWN = re.compile(rf"\b(?:{DOWN})\b", re.I)
VERB_UP = re.compile(rf"\b(?:{UP})\b", re.I)
SPEC = re.compile(r"\b(offers?|has|have|provides?|features?|peak|theoretical|rated|datasheet|nominal|specified|"
                   r"capacity|TDP|comes with|equipped)\b", re.I)
MEASURED = re.compile(r"\b(measured?|achiev\w*|reach\w*|sustain\w*|attain\w*|observ\w*|obtain\w*|benchmark\w*|"
                       r"runs? at|we get|copy|copies)\b", re.I)
PARAMS = re.compile(r"param|activat", re.I)
FROM = re.compile(r"\bfrom\s*(?:about|around|roughly|approximately|nearly)?\s*$", re.I)
BETWEEN = re.compile(r"\bbetween\s*$", re.I)
EVALUATIVE = re.compile(
    r"\b(outperform\w*|competitive|consistent with|comparable|guidance|state[- ]of[- ]the[- ]art|superior|"
    r"better|worse|faster|slower|more efficient|efficien\w+|effective\w*|improv\w*|reduc\w*|lower\w*|"
    r"accelerat\w*|speeds? up|match(?:es)?|remains?|stays?|significant\w*|substantial\w*|robust\w*|"
    r"scal(?:es|able)|benefit\w*|advantage\w*|trade-?offs?|practical|recommend\w*|enabl\w*)\b", re.I)
UNIT_METRIC = {"throughput": "throughput", "bandwidth": "bandwidth", "compute": "compute", "energy": "energy",
                "power": "power", "memory": "memory", "params": "activated_params", "experts": "expert_activations"}
SPEED_WORDS = re.compile(r"^\s*(?:faster|slower|speed-?ups?|quicker|higher|lower|more|less|the|a|an|its|their|"
                          r"over|than|that|improvement|increase|reduction)\b", re.I)

SKIP = re.compile(r"^(?:\s*\([^)]*\))?(?:\s*(?:,|and|or)\s*[\d.,]+\s*%(?:\s*\([^)]*\))?)*")
