"""Vocabularies of claim extraction (devices, models, backends, precisions, methods, metrics).

They live in a YAML file (config/vocab.yaml by default, `claims.vocab_path`), so users add
spellings without touching code. Matching ignores case and treats a space, a hyphen, an
underscore or no separator between the parts of an alias alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import VocabError

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_VOCAB = ROOT / "config" / "vocab.yaml"
CATEGORIES = ("devices", "models", "backends", "precisions", "methods")
# categories -> the claims-table field suffix (subject_<field>, baseline_<field>)
FIELD = {"devices": "device", "models": "model", "backends": "backend", "precisions": "precision",
         "methods": "method"}
_CHUNK = re.compile(r"[\s\-_]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z]{3})(?=\d)")


@dataclass(frozen=True)
class Mention:
    """A vocabulary term found in a sentence: its category, canonical name and span."""
    category: str
    name: str
    start: int
    end: int


@dataclass
class Vocab:
    """Compiled vocabularies: alias -> canonical name per category, plus metrics and hints."""
    terms: dict[str, dict[str, str]]
    baselines: dict[tuple[str, str], str] = field(default_factory=dict)
    batch_phrases: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    path: str = ""
    families: dict[str, str] = field(default_factory=dict)  # alias -> model family ("llama 2" -> "llama-2")
    # method -> method family (e.g. every routing rule is "expert routing"); datasets: alias -> name
    method_families: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self._entity_re = _alternation([a for c in CATEGORIES for a in self.terms.get(c, {})]
                                       + list(self.batch_phrases), device_suffix=True)
        self._lookup = {}
        for cat in CATEGORIES:
            for alias, name in self.terms.get(cat, {}).items():
                hits = self._lookup.setdefault(_key(alias), [])
                if (cat, name) not in hits:  # "llama-2 13b" and "llama 2 13b" are one key: one mention
                    hits.append((cat, name))
        self._batch = {_key(a): b for a, b in self.batch_phrases.items()}
        self._metric_re = _alternation(list(self.metrics), device_suffix=False)
        self._metric = {_key(a): m for a, m in self.metrics.items()}
        self._family = {_key(a): f for a, f in self.families.items()}
        self._family_re = None
        if self.families:  # "<family> <size>B" names a model of any size: Llama-2 34B -> llama-2-34b
            fam = _alternation(list(self.families), device_suffix=False).pattern
            fam = fam[len("(?<![A-Za-z0-9])"):-len("(?![A-Za-z0-9])")]
            self._family_re = re.compile(rf"(?<![A-Za-z0-9])(?P<f>{fam})[\s\-_]?(?:(?:chat|instruct|base)[\s\-_]?)?"
                                         rf"(?P<n>\d+(?:\.\d+)?)\s?(?P<u>[bBmM])(?![A-Za-z0-9])", re.IGNORECASE)
        # a family named without a size ("Llama 2 reaches 30 tokens/s") is named, never sized by guess
        self._bare_re = _alternation(list(self.families), device_suffix=False) if self.families else None
        self._dataset_re = _alternation(list(self.datasets), device_suffix=False)
        self._dataset = {_key(a): d for a, d in self.datasets.items()}

    def mentions(self, text: str) -> list[Mention]:
        """Vocabulary terms in `text`, longest alias first, non-overlapping, in order."""
        out = []
        for m in self._entity_re.finditer(text):
            k = _key(re.sub(r"[\s\-]+gpus?$", "", m.group(0), flags=re.I))
            if k in self._batch:
                out.append(Mention("batch", self._batch[k], m.start(), m.end()))
                continue
            for cat, name in self._lookup.get(k, ()):
                out.append(Mention(cat, name, m.start(), m.end()))
        if self._family_re is not None:
            extra = []
            for m in self._family_re.finditer(text):
                if any(o.start < m.end() and m.start() < o.end for o in out):
                    continue  # a listed model (or other term) already covers it
                fam = self._family.get(_key(m.group("f")))
                if fam:
                    extra.append(Mention("models", f"{fam}-{m.group('n')}{m.group('u').lower()}", m.start(), m.end()))
            if extra:
                out = sorted(out + extra, key=lambda x: x.start)
        if self._bare_re is not None and _LLM_TEXT.search(text):
            bare = [Mention("models", self._family[_key(m.group(0))], m.start(), m.end())
                    for m in self._bare_re.finditer(text) if _key(m.group(0)) in self._family and _named_family(m.group(0))
                    and not any(o.start < m.end() and m.start() < o.end for o in out)]
            if bare:
                out = sorted(out + bare, key=lambda x: x.start)
        return out

    def metric_mentions(self, text: str) -> list[Mention]:
        """Metric words in `text` as mentions of category 'metric'."""
        return [Mention("metric", self._metric[_key(m.group(0))], m.start(), m.end())
                for m in self._metric_re.finditer(text) if _key(m.group(0)) in self._metric]

    def dataset_mentions(self, text: str) -> list[Mention]:
        """Named datasets and benchmarks in `text` as mentions of category 'dataset'."""
        return [Mention("dataset", self._dataset[_key(m.group(0))], m.start(), m.end())
                for m in self._dataset_re.finditer(text) if _key(m.group(0)) in self._dataset]

    def family(self, method: str | None) -> str | None:
        """The family of a canonical method name (the method itself when it has none)."""
        return None if not method else self.method_families.get(method, method)

    def implied_baseline(self, category: str, name: str) -> str | None:
        """What a comparison by this subject is against when the sentence names nothing."""
        return self.baselines.get((category, name))


# sentences about generating tokens, where a bare family name ("Llama 2", "OPT") names the model
_LLM_TEXT = re.compile(r"\btok(?:en)?s?\b|ttft|tpot|decod|generat|serving|\bllms?\b", re.I)
# family names that are also common words: only with a version digit, or written in capitals (OPT, MPT)
_AMBIGUOUS = {"opt", "phi", "yi", "bloom", "mpt", "t5", "qwen", "gemma", "falcon", "mistral"}


def _named_family(written: str) -> bool:
    """Whether a bare family spelling surely names a model: it has a version digit, or is no common word."""
    return any(c.isdigit() for c in written) or _key(written) not in _AMBIGUOUS or written.isupper() or \
        (written[:1].isupper() and _key(written) in {"falcon", "mistral", "qwen", "gemma"})


def _key(alias: str) -> str:
    return _CHUNK.sub("", alias.lower())


_SEP = ""  # trie atom: an optional separator between the parts of an alias


def _atoms(alias: str) -> list[str]:
    out = []
    for p in (p for p in _CHUNK.split(alias.lower().strip()) if p):
        for sub in _LETTER_DIGIT.split(p):  # resnet18 also matches resnet-18 / resnet 18
            if out:
                out.append(_SEP)
            out.extend(sub)
    return out


def _trie_pattern(node: dict) -> str:
    """A regex for the aliases under `node`; shared prefixes are matched once, so a scan is fast.

    Letters before the optional separator, so 'tensorrt-llm' is tried before 'tensor-rt' ends at 'rt'."""
    alts = [(r"[\s\-_]?" if atom == _SEP else re.escape(atom)) + _trie_pattern(child)
            for atom, child in sorted(node.items(), key=lambda kv: kv[0] == _SEP) if atom is not None]
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    if None in node:  # an alias may end here: try the longer ones first
        return f"(?:{body})?" if len(alts) > 1 or len(body) > 1 else f"{body}?"
    return body


def _alternation(aliases: list[str], device_suffix: bool) -> re.Pattern:
    uniq = {a for a in aliases if a.strip()}
    if not uniq:
        return re.compile(r"(?!x)x")
    trie: dict = {}
    for a in uniq:
        node = trie
        for atom in _atoms(a):
            node = node.setdefault(atom, {})
        node[None] = {}
    suffix = r"(?:[\s\-]gpus?)?" if device_suffix else ""
    return re.compile(rf"(?<![A-Za-z0-9])(?:{_trie_pattern(trie)}){suffix}(?![A-Za-z0-9])", re.IGNORECASE)


def _entries(raw: dict, section: str, path: str):
    node = raw.get(section) or {}
    if not isinstance(node, dict):
        raise VocabError(f"{path}: `{section}` must map canonical names to alias lists")
    for name, entry in node.items():
        if isinstance(entry, list):
            aliases, extra = entry, {}
        elif isinstance(entry, dict) and isinstance(entry.get("aliases", []), list):
            aliases, extra = entry.get("aliases", []), entry
        else:
            raise VocabError(f"{path}: {section}.{name} must be a list of aliases or a mapping with `aliases`")
        bad = [a for a in aliases if not isinstance(a, (str, int, float))]
        if bad:
            raise VocabError(f"{path}: {section}.{name} has aliases that are not strings: {bad}")
        yield str(name), [str(a) for a in aliases] + [str(name)], extra


def parse_vocab(raw: dict, path: str = "<vocab>") -> Vocab:
    """Build a Vocab from the parsed YAML mapping (raises VocabError naming a bad entry)."""
    if not isinstance(raw, dict):
        raise VocabError(f"{path}: the vocabulary file must be a YAML mapping")
    extra_sections = ["batch_phrases", "metrics", "model_families", "datasets"]
    unknown = sorted(set(raw) - set(CATEGORIES) - set(extra_sections))
    if unknown:
        raise VocabError(f"{path}: unknown section(s) {unknown}; allowed: {list(CATEGORIES) + extra_sections}")
    terms, baselines, method_families = {}, {}, {}
    for cat in CATEGORIES:
        terms[cat] = {}
        for name, aliases, extra in _entries(raw, cat, path):
            for a in aliases:
                terms[cat][a] = name
            if extra.get("baseline"):
                baselines[(cat, name)] = str(extra["baseline"])
            if cat == "methods" and extra.get("family"):
                method_families[name] = str(extra["family"])
    batch = {a: name for name, aliases, _ in _entries(raw, "batch_phrases", path) for a in aliases if a != name}
    metrics = {a: name for name, aliases, _ in _entries(raw, "metrics", path) for a in aliases if "_" not in a}
    families = {a: name for name, aliases, _ in _entries(raw, "model_families", path) for a in aliases}
    datasets = {a: name for name, aliases, _ in _entries(raw, "datasets", path) for a in aliases}
    return Vocab(terms=terms, baselines=baselines, batch_phrases=batch, metrics=metrics, path=path, families=families,
                 method_families=method_families, datasets=datasets)


@lru_cache(maxsize=8)
def load_vocab(path: str | None = None) -> Vocab:
    """Read and compile a vocabulary file; empty or None means the bundled config/vocab.yaml."""
    p = Path(path) if path else DEFAULT_VOCAB
    if not p.is_file():
        raise VocabError(f"claims vocabulary {p} not found; set claims.vocab_path to an existing YAML file "
                         f"(or leave it empty for the bundled {DEFAULT_VOCAB.relative_to(ROOT)})")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise VocabError(f"{p}: not valid YAML ({exc})") from exc
    return parse_vocab(raw or {}, str(p))
