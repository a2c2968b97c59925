"""Parse one sentence into structured claims (deterministic, rule-based).

A sentence is prepared (dashes, ×, µ normalised), vocabulary terms and batch sizes are
found and hidden, the remaining numbers are read with their units, and each number that
measures something becomes a claim: absolute, ratio, change, batch_range or spec. A
comparison ("than T4", "over top-2 routing", "its FP32 rate") gives the claim a baseline;
subjects come from the claim's own clause first, then from the sentence's shared context.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import normalize
from .clean import clean_residue
from .numbers import Quantity, mask, mask_non_quantities, prepare, scan
from .patterns import (
    BATCH_WORD, BY_BEFORE, CHANGE_AFTER, EVALUATIVE, FROM, FRONT_CMP, MARKER, MEASURED, ONE_TOKEN, OUTPERFORM,
    PARAMS, PEAK, PER_TOKEN, PHRASE_END, SIZE_AFTER, SKIP, SPEC, SPEED_WORDS, TOKEN_TIME, UNIT_METRIC,
    VERB_DOWN, VERB_UP,
)
from .spans import (
    batches as _batches, conditions as _conditions, fmt as _fmt, in_parens as _in_parens,
    nearest as _nearest, qualifier as _qualifier, seg_of as _seg_of, segments as _segments,
)
from .vocab import FIELD, Mention, Vocab

SIDE = ("device", "model", "backend", "precision", "method", "batch")
# what the claim holds under (condition_<name>); token_scope is per_sequence / aggregate, the others numbers
CONDITIONS = ("seq_len", "latency_ms", "input_len", "output_len", "concurrency", "token_scope")
KINDS = ("absolute", "ratio", "change", "batch_range", "spec", "not_empirical")


@dataclass
class _Slot:
    """One claim under construction: its number, clause bounds and resolved fields."""
    q: Quantity | None
    start: int
    end: int
    seg: int
    kind: str = ""
    metric: str | None = None
    batch: tuple | None = None
    base_span: tuple[int, int] | None = None
    subject: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)


_GPU_THING = re.compile(r"[\s-]+(?:memory|kernels?|vram|hours?|utili[sz]ation)\b", re.I)



class SentenceParser:
    """Turns sentences into claim dicts using one vocabulary."""

    def __init__(self, vocab: Vocab):
        self.vocab = vocab

    def title_subject(self, title: str) -> dict:
        """Subject fields a paper's title names unambiguously (the fallback for claims naming none)."""
        out = {}
        for m in self.vocab.mentions(prepare(normalize(title or ""))):  # the first named is the paper's own
            if m.category != "batch" and not (m.category == "devices" and m.name == "gpu"):
                out.setdefault(FIELD[m.category], m.name)
        return out

    def parse(self, sentence: str) -> list[dict]:
        """Claims of one sentence (possibly none; one not_empirical row for an evaluative sentence)."""
        s = normalize(sentence)
        if not s or s.endswith("?"):
            return []
        p = prepare(clean_residue(s))
        mentions = [m for m in self.vocab.mentions(p)
                    if not (m.name == "gpu" and _GPU_THING.match(p, m.end))]  # "GPU memory" names no device
        ents = [m for m in mentions if m.category != "batch"]
        ent_spans = [(m.start, m.end) for m in ents]
        conditions, cond_spans = _conditions(mask(p, ent_spans))
        batches = _batches(mask(p, ent_spans + cond_spans))
        masked = mask_non_quantities(mask(p, [(m.start, m.end) for m in mentions] + [(b.start, b.end) for b in batches]
                                          + cond_spans))
        metrics = [m for m in self.vocab.metric_mentions(p)
                   if not any(e.start <= m.start < e.end for e in ents)]
        segs, contrast = _segments(p)
        self._ents = ents
        slots = self._slots(p, masked, scan(masked), batches, segs, metrics)
        if not slots:
            return [_not_empirical(s)] if EVALUATIVE.search(p) and not _in_parens(p, len(p)) else []
        self._resolve_sides(p, slots, segs, contrast, ents, mentions, batches)
        rows = [self._row(s, masked, slot, i) for i, slot in enumerate(slots)]
        for row in rows:
            for k in CONDITIONS:
                row[f"condition_{k}"] = conditions.get(k)
        for i in range(1, len(rows)):  # "roughly 669 images/s on X and 230 images/s on Y": both roughly
            prev, row = rows[i - 1], rows[i]
            if (slots[i].seg == slots[i - 1].seg and p.startswith("and ", slots[i].start) and row["qualifier"] == "exact"
                    and prev["qualifier"] != "exact" and (row["kind"], row["unit"]) == (prev["kind"], prev["unit"])):
                row["qualifier"] = prev["qualifier"]
        return rows

    # -- which numbers are claims -------------------------------------------------------
    def _slots(self, p, masked, quantities, batches, segs, metrics) -> list[_Slot]:
        cands, prev = [], None
        for q in quantities:
            if prev is not None and prev.unit == q.unit and q.unit in ("B", "M", "GB", "%") and re.match(
                    r"^\s+of\s+(?:the|its|their|a|an)?[\w'\s-]{0,24}$", masked[prev.end:q.start]):
                continue  # "13B of the model's 47B parameters": 47B is the whole, not a claim
            prev = q
            kind, metric = self._classify(p, masked, q, segs, metrics)
            if kind:
                cands.append((q.start, _Slot(q, q.start, q.end, _seg_of(segs, q.start), kind, metric)))
        for b in batches:
            seg = _seg_of(segs, b.start)
            s0, s1 = segs[seg]
            if b.high > b.low and PEAK.search(p[s0:s1]):
                near = [m for m in metrics if s0 <= m.start <= s1]
                metric = _nearest(near, b.start).name if near else "efficiency"
                cands.append((b.start, _Slot(None, b.start, b.end, seg, "batch_range", metric, batch=(b.low, b.high))))
        cands.sort(key=lambda c: c[0])
        slots, last = [], None
        for _, sl in cands:
            if sl.metric == "?":
                if last is None:
                    continue
                sl.metric = last
            slots.append(sl)
            last = sl.metric
        outside = [sl for sl in slots if not _in_parens(p, sl.start)]
        if outside:
            slots = outside  # numbers in parentheses back up the claim before them
        for i, sl in enumerate(slots):  # clause of each claim: its segment, split at 'and' between claims
            s0, s1 = segs[sl.seg]
            sl.start, sl.end = s0, s1
            if i > 0 and slots[i - 1].seg == sl.seg:
                prev_end = slots[i - 1].q.end if slots[i - 1].q else slots[i - 1].start
                cut = max(p.rfind(w, prev_end, sl.q.start if sl.q else sl.start) for w in (" and ", " while "))
                sl.start = cut + 1 if cut >= 0 else prev_end
                slots[i - 1].end = sl.start
        return slots

    def _classify(self, p, masked, q: Quantity, segs, metrics) -> tuple[str | None, str | None]:
        seg = segs[_seg_of(segs, q.start)]
        near = [m for m in metrics if seg[0] <= m.start <= seg[1]]
        nearest = _nearest(near, q.start)
        before = masked[max(0, q.start - 40):q.start]
        cat = q.category
        if cat in (None, "count", "percent_points") and not (cat == "percent_points"):
            if q.high is not None and FROM.search(before) and nearest and not BATCH_WORD.search(before):
                return "change", nearest.name
            return None, None
        if cat == "params" and (not PARAMS.search(p[seg[0]:seg[1]]) or SIZE_AFTER.match(masked, q.end)
                                or re.search(r"\b(?:a|an)\s+$", before)):
            return None, None  # "a 7B dense model": a model size, not a claim
        if cat == "time":
            return self._range_kind(q, before), self._time_metric(p, masked, q, near, metrics)
        if q.unit == "tokens/s":
            return self._range_kind(q, before), "token_throughput"
        if cat in UNIT_METRIC:
            metric = UNIT_METRIC[cat]
            if cat in ("bandwidth", "compute", "power", "memory") and not MEASURED.search(p) and (
                    SPEC.search(p) or self._device_only()):
                return "spec", metric
            return self._range_kind(q, before), metric
        if cat == "ratio":
            if any(m.category == "devices" and q.end <= m.start <= q.end + 2 for m in self._ents):
                return None, None  # "on 2x A100", "8x H100": a device count, not a ratio
            if nearest is None and OUTPERFORM.search(before):
                return "ratio", "speedup"  # "outperforms cuBLAS by 1.7x"
            if nearest is None:
                if not SPEED_WORDS.search(masked[q.end:q.end + 20]):
                    return "ratio", "?"  # "..., and 3.3x at batch size 32": the metric of the ratio before, if any
                return "ratio", "speedup"
            return "ratio", nearest.name
        if cat in ("percent", "percent_points"):
            if nearest is None:  # "..., 35% more than PyTorch": the metric of the claim before
                return ("change", "?") if _change_after(masked, q) else (None, None)
            if q.high is not None and FROM.search(before):
                return "change", nearest.name
            after = _change_after(masked, q)
            if after:
                follow = [m for m in near if after.end() <= m.start - q.end <= after.end() + 25]
                return "change", (follow[0] if follow else nearest).name
            if BY_BEFORE.search(before):
                return "change", nearest.name
            return ("change" if cat == "percent_points" else "absolute"), nearest.name
        return None, None

    def _device_only(self) -> bool:
        """Only devices (and precisions) named: a figure of the hardware itself, a spec."""
        cats = {m.category for m in self._ents}
        return "devices" in cats and not cats & {"models", "backends", "methods"}

    @staticmethod
    def _time_metric(p, masked, q: Quantity, near, metrics) -> str:
        """ttft / tpot named in the clause win; '12 ms per token' is tpot; else the latency percentile named."""
        tok = [m for m in near if m.name in TOKEN_TIME]
        if tok:
            return _nearest(tok, q.start).name
        if PER_TOKEN.match(masked, q.end) or ONE_TOKEN.search(masked[max(0, q.start - 30):q.start]):
            return "tpot"
        lat = [m for m in metrics if m.name.startswith("latency_")]
        return lat[0].name if lat else "latency"

    @staticmethod
    def _range_kind(q: Quantity, before: str) -> str:
        return "change" if q.high is not None and FROM.search(before) else "absolute"

    # -- subjects and baselines -----------------------------------------------------------
    def _resolve_sides(self, p, slots, segs, contrast, ents, mentions, batches):
        claim_segs = {sl.seg for sl in slots} | contrast
        front_base = [m for i, (s0, s1) in enumerate(segs) if i not in claim_segs and FRONT_CMP.match(p[s0:s1])
                      for m in ents if s0 <= m.start < s1]
        base_spans = []
        for sl in slots:
            if sl.kind in ("ratio", "change"):
                sl.base_span = self._baseline_span(p, sl)
                if sl.base_span:
                    base_spans.append(sl.base_span)
                    sl.baseline = _pick([m for m in ents if sl.base_span[0] <= m.start < sl.base_span[1]], sl.start)
                elif front_base:
                    sl.baseline = _pick(front_base, 0)

        def is_base(m):
            return any(a <= m.start < b for a, b in base_spans) or m in front_base

        subj = [m for m in mentions if not is_base(m)]
        bsubj = [b for b in batches if not any(a <= b.start < e for a, e in base_spans)]
        context = [m for m in subj if _seg_of(segs, m.start) not in claim_segs]
        ctx_batch = [b for b in bsubj if _seg_of(segs, b.start) not in claim_segs]
        for i, sl in enumerate(slots):
            anchor = sl.q.start if sl.q else sl.start
            own = [m for m in subj if sl.start <= m.start < sl.end]
            picked = _pick(own, anchor)
            own_batch = [b for b in bsubj if sl.start <= b.start < sl.end and not (sl.batch and (b.low, b.high) == sl.batch)]
            if own_batch:
                picked["batch"] = min(own_batch, key=lambda b: abs(b.start - anchor)).label()
            prev = slots[i - 1].subject if i > 0 else {}
            if i > 0 and (slots[i - 1].seg == sl.seg or not picked.keys() - {"batch"}):
                for k, v in prev.items():
                    picked.setdefault(k, v)
            for k, v in _unique(context).items():
                picked.setdefault(k, v)
            if "batch" not in picked and len({b.label() for b in ctx_batch}) == 1 and ctx_batch[0].low == ctx_batch[0].high:
                picked["batch"] = ctx_batch[0].label()
            sl.subject = picked
            if sl.kind in ("ratio", "change") and not sl.baseline:
                for m in own + context + ([m for m in subj] if not own else []):
                    implied = self.vocab.implied_baseline(m.category, m.name) if m.category != "batch" else None
                    if implied and picked.get(FIELD[m.category]) == m.name:
                        sl.baseline = {FIELD[m.category]: implied}
                        break
        if len(slots) > 1:
            self._share_across(slots, segs, contrast, subj)

    @staticmethod
    def _share_across(slots, segs, contrast, subj):
        """What the sentence names after its last claim, and a baseline named once, hold for every claim."""
        last = slots[-1]
        tail_from = last.q.end if last.q else last.end
        tail = _pick([m for m in subj if tail_from <= m.start < last.end], tail_from)
        for sl in reversed(slots[:-1]):
            if any(k in contrast for k in range(sl.seg + 1, last.seg + 1)):
                break  # "X ... while Y ...": the second clause's names are Y's
            for k, v in tail.items():
                sl.subject.setdefault(k, v)
        rel = [sl for sl in slots if sl.kind in ("ratio", "change")]
        named = {tuple(sorted(sl.baseline.items())) for sl in rel if sl.base_span and sl.baseline}
        if len(named) == 1:
            base = dict(next(iter(named)))
            for sl in rel:
                if not sl.baseline:
                    sl.baseline = dict(base)

    @staticmethod
    def _baseline_span(p: str, sl: _Slot) -> tuple[int, int] | None:
        tail_start = sl.q.end
        tail = p[tail_start:sl.end]
        m = MARKER.search(tail)
        if m and m.group(0).lower().startswith(("of", "its", "their")) and sl.kind == "change":
            m = None if re.match(r"^\s*of\b", tail) else m
        if m is None:
            out = OUTPERFORM.search(p, sl.start, sl.q.start)
            if out and sl.kind in ("ratio", "change"):  # "outperforms cuBLAS by 1.7x": the baseline comes first
                return (out.end(), sl.q.start)
            if sl.kind != "ratio" or not re.match(r"^\s*(?:the|a|an)\s+", tail, re.I):
                return None
            start = tail_start + re.match(r"^\s*(?:the|a|an)\s+", tail, re.I).end()
        else:
            start = tail_start + m.end()
        end_m = PHRASE_END.search(p, start, sl.end)
        return (start, end_m.start() if end_m else sl.end)

    def _row(self, sentence: str, masked: str, sl: _Slot, index: int) -> dict:
        q = sl.q
        row = {"sentence": sentence, "claim_index": index, "kind": sl.kind, "metric": sl.metric, "value": None,
               "unit": None, "qualifier": "exact", "value_from": None, "value_to": None, "low": None, "high": None,
               "numbers": ""}
        nums = []
        if sl.kind == "batch_range":
            row.update(low=sl.batch[0], high=sl.batch[1])
            nums = [sl.batch[0], sl.batch[1]]
        else:
            row["unit"] = None if q.unit == "count" else q.unit
            row["qualifier"] = _qualifier(masked, q, sl.kind, sl.start)
            if q.high is not None and sl.kind == "change":
                row.update(value_from=q.value, value_to=q.high)
                if re.search(r"\b(?:about|around|roughly|approximately|nearly)\b", masked[q.start:q.end], re.I):
                    row["qualifier"] = "approx"
            elif q.high is not None:
                row.update(low=min(q.value, q.high), high=max(q.value, q.high))
            else:
                value = -q.value if q.negative else q.value
                if sl.kind == "change" and q.unit in ("%", "pp"):
                    value = self._signed(masked, sl, q)
                row["value"] = value
            nums = [q.value] + ([q.high] if q.high is not None else [])
        for k in SIDE:
            row[f"subject_{k}"] = sl.subject.get(k)
            row[f"baseline_{k}"] = sl.baseline.get(k)
        if row["subject_batch"] and sl.kind != "batch_range":  # only batch sizes written as numbers
            nums += [float(x) for x in row["subject_batch"].split("-")
                     if re.search(rf"(?<!\d)(?<!\d\.){re.escape(x)}(?!\d|\.\d)", sentence)]
        row["numbers"] = ",".join(_fmt(n) for n in nums)
        return row

    @staticmethod
    def _signed(masked: str, sl: _Slot, q: Quantity) -> float:
        after = _change_after(masked, q)
        if after:
            return -q.value if after.group(1) else q.value
        clause = masked[sl.start:q.start]
        downs = [m.start() for m in VERB_DOWN.finditer(clause)]
        ups = [m.start() for m in VERB_UP.finditer(clause)]
        if downs and (not ups or max(downs) > max(ups)):
            return -q.value
        return q.value




def _change_after(masked: str, q: Quantity):
    """'40% fewer', '39% (A) and 15% (B) lower': the change word after a percentage, if any."""
    rest = masked[q.end:q.end + 80]
    return CHANGE_AFTER.match(rest, SKIP.match(rest).end())


def _pick(ms: list[Mention], anchor: int) -> dict:
    out = {}
    for cat in ("devices", "models", "backends", "precisions", "methods", "batch"):
        cands = [m for m in ms if m.category == cat]
        if cat == "devices" and any(m.name != "gpu" for m in cands):
            cands = [m for m in cands if m.name != "gpu"]
        if cands:
            out[FIELD.get(cat, "batch")] = _nearest(cands, anchor).name
    return out


def _unique(ms: list[Mention]) -> dict:
    out = {}
    for cat in ("devices", "models", "backends", "precisions", "methods", "batch"):
        names = {m.name for m in ms if m.category == cat}
        if cat == "devices" and len(names) > 1:
            names.discard("gpu")
        if len(names) == 1:
            out[FIELD.get(cat, "batch")] = names.pop()
    return out


def _not_empirical(sentence: str) -> dict:
    row = {"sentence": sentence, "claim_index": 0, "kind": "not_empirical", "metric": None, "value": None,
           "unit": None, "qualifier": None, "value_from": None, "value_to": None, "low": None, "high": None,
           "numbers": ""}
    row.update({f"{side}_{k}": None for side in ("subject", "baseline") for k in SIDE})
    row.update({f"condition_{k}": None for k in CONDITIONS})
    return row
