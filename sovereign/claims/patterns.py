"""Word patterns of claim parsing: clauses, batch sizes, qualifiers, comparisons, change words."""
from __future__ import annotations

import re

from .numbers import NUM

BATCH = re.compile(rf"\b(?:(?:mini-?)?batch(?:es)?(?:[\s-]?sizes?)?|bs)\s*(?:=|:|of)?\s*"
                    rf"(?P<pre>from\s+|between\s+|up\s+to\s+)?(?P<a>{NUM})(?:\s*(?:-|to|and)\s*(?P<b>{NUM}))?",
                    re.IGNORECASE)
BATCH_B = re.compile(rf"\bB\s*=\s*(?P<a>{NUM})(?:\s*-\s*(?P<b>{NUM}))?")
SEG = re.compile(r"[,;:]\s+|\s+(?:while(?!\s+\w+ing\b)|whereas|but|although|though|yet)\s+")  # "while serving" is no contrast
SIZE_AFTER = re.compile(r"[\s-]*(?:#|dense\b|sparse\b|models?\b|moe\b|llms?\b|variants?\b|versions?\b|-param)", re.I)
BATCH_WORD = re.compile(r"\bbatch(?:[\s-]?sizes?)?\b(?:\s+\w+){0,2}\s+from\s*$", re.I)
CONTRAST = re.compile(r"(?:while|whereas|but|although|though|yet|however)\b", re.I)
PEAK = re.compile(r"\b(best|peak\w*|optimal|optimum|sweet spot|highest|maximum|maximal|most efficient|saturat\w*)\b", re.I)
MARKER = re.compile(r"\b(?:than|over|versus|vs\.?|compared (?:with|to)|relative to|against|of|its|their)\s+", re.I)
PHRASE_END = re.compile(r"\s+(?:under|with|on|in|at|for|while|when|using|across|and|by|from|to|running)\s+|[,;:(]")
FRONT_CMP = re.compile(r"^\s*(?:compared (?:with|to)|relative to|versus|vs\.?|over|against)\s+", re.I)
QUAL = [
    ("up_to", re.compile(r"\b(?:up to|as much as|as high as|as many as)\s*$", re.I)),
    ("at_least", re.compile(r"(?:\b(?:at least|more than|over|above|greater than|exceed\w*|in excess of|upwards of|north of)|[>])\s*$", re.I)),
    ("at_most", re.compile(r"(?:\b(?:at most|fewer than|less than|under|below|no more than|within|lower than)|[<])\s*$", re.I)),
    ("approx", re.compile(r"(?:\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|close to|some|circa|near)|~)\s*$", re.I)),
]
AFTER_QUAL = [("at_least", re.compile(r"^\s*or more\b", re.I)), ("at_most", re.compile(r"^\s*or (?:less|fewer)\b", re.I))]
DOWN = r"fewer|less|lower|lowers|lowered|lowering|smaller|reduc\w*|cut\w*|drop\w*|fall\w*|fell|decreas\w*|shrink\w*|sav\w*|slower|worse"
UP = r"more|higher|rais\w*|improv\w*|increas\w*|boost\w*|gain\w*|faster|better|greater|larger|speed-?ups?|accelerat\w*"
CHANGE_AFTER = re.compile(rf"\s*(?:({DOWN})|({UP}))\b", re.I)
BY_BEFORE = re.compile(r"\bby\s*(?:up to|about|around|roughly|approximately|nearly|almost|less than|more than|over|at least|at most|under|~)?\s*$", re.I)
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

# Conditions a claim holds under (sentence-wide): sequence length in tokens, a latency bound.
SEQ_LEN = re.compile(
    rf"\b(?:sequence|context|prompt|input)[\s-]+lengths?\s*(?:of|=|:)?\s*(?P<n>{NUM})(?P<k>k)?(?:[\s-]*tokens?)?"
    rf"|(?<![\w.,])(?P<n2>{NUM})(?P<k2>k)?[\s-]*(?:input[\s-]+)?tokens?[\s-]+(?:long[\s-]+)?"
    rf"(?:prompts?|inputs?|sequences?|contexts?|context[\s-]windows?)\b"
    rf"|(?<![\w.,])(?P<n3>{NUM})\s+input\s+tokens\b"
    rf"|(?<![\w.,])(?P<n4>{NUM})(?P<k4>k)\s+(?:tokens?\s+of\s+)?context\b", re.I)
LAT_BOUND = re.compile(
    rf"\b(?:at|under|within|with|for|below)\s+(?:an?\s+)?(?P<n>{NUM})[\s-]*(?P<u>ms|s)\b[\s-]*"
    r"(?:(?:p\d{2}|median|average|mean|tail)[\s-]+)?"
    r"(?P<lw>(?:latency|time[\s-]to[\s-]first[\s-]token|ttft|tpot|response[\s-]time)[\s-]*)?"
    r"(?P<b>bound|constraint|budget|target|slo|sla|limit|cap|requirement)?", re.I)
# "as low as 1.1 ms", "down to 12 ms", a measured "peak": the best case, read as up_to
BEST_CASE = re.compile(r"\b(?:as (?:low|little|short|fast) as|(?:comes?|goes?|drops?|falls?|gets?)?\s*down to)\s*$", re.I)
MEASURED_PEAK = re.compile(r"\bpeak\w*\b", re.I)
PER_TOKEN = re.compile(r"\s*(?:(?:per|a|each)\s+|/\s*)(?:output\s+|generated\s+)?token\b|\s*per\s+(?:decoding\s+)?step\b", re.I)
OUTPERFORM = re.compile(r"\b(?:outperform\w*|beat\w*|surpass\w*)\b", re.I)
ONE_TOKEN = re.compile(r"\b(?:(?:one|each|a|every|per)\s+(?:output\s+)?token)\b", re.I)
TOKEN_TIME = ("ttft", "tpot")
