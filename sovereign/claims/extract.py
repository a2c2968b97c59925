"""extract_claims: every kept paper's abstract (and full text) -> rows of the `claims` table."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..io import write_parquet
from ..text import normalize, split_sentences
from ..warehouse import CONTRACT
from .errors import ClaimsConfigError, ClaimsInputError
from .numbers import prepare
from .parse import CONDITIONS, SentenceParser
from .llm import HAS_NUMBER, LLMConfig, LLMExtractor
from .tables import pdf_table_claims
from .vocab import FIELD, load_vocab
from ..literature.fulltext import cached_pdf_path

log = logging.getLogger(__name__)
CATEGORY = {field: cat for cat, field in FIELD.items()}

# source: where the claim was read (sentence | table); extractor: rules | llm; verbatim: the sentence
# is the paper's own text (rules, tables) or the model's statement (llm, with source_sentence);
# section: abstract | full_text | pdf (tables); status/reason: ok, or failed with why.
EXTRA_COLUMNS = ["value_from", "value_to", "low", "high", "baseline_batch"] + [f"condition_{k}" for k in CONDITIONS] + [
    "source", "extractor", "verbatim", "source_sentence", "section", "sentence_index", "claim_index", "numbers",
    "mentions", "also_in", "subject_from_title", "subject_context", "status", "reason",
    "table_caption", "table_page", "table_index", "table_row", "table_col"]
CLAIM_COLUMNS = list(CONTRACT["claims"]) + EXTRA_COLUMNS
BACKENDS = ("rules", "openai")
_SAME = ["kind", "metric", "value", "unit", "qualifier", "value_from", "value_to", "low", "high"] + \
    [f"{s}_{k}" for s in ("subject", "baseline") for k in ("device", "model", "backend", "precision", "method", "batch")] + \
    [f"condition_{k}" for k in CONDITIONS]


@dataclass
class ClaimsConfig:
    """The `claims:` config section (validated; the message names the key)."""
    vocab_path: str = ""
    use_full_text: bool = True
    kept_only: bool = True
    min_support: float = 0.3
    agree_tolerance: float = 0.15
    use_embeddings: bool = True
    tables: bool = True
    backend: str = "rules"
    endpoint: str = ""
    model: str = ""
    timeout_s: float = 60.0
    retries: int = 2
    api_key_env: str = ""

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ClaimsConfigError(f"claims.backend must be one of {list(BACKENDS)}, got {self.backend!r}")
        if not 0 <= float(self.min_support) <= 1:
            raise ClaimsConfigError(f"claims.min_support must lie in [0, 1], got {self.min_support}")
        if not 0 <= float(self.agree_tolerance) < 1:
            raise ClaimsConfigError(f"claims.agree_tolerance must lie in [0, 1), got {self.agree_tolerance}")
        if self.vocab_path and not Path(self.vocab_path).is_file():
            raise ClaimsConfigError(f"claims.vocab_path: {self.vocab_path} is not a file")

    @classmethod
    def from_dict(cls, cfg: dict | None) -> "ClaimsConfig":
        """Build from the config mapping, ignoring keys this stage does not use."""
        cfg = dict(cfg or {})
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})


def claim_id(study: str, paper_id: str, source: str, sentence_index: int, sentence: str, index: int) -> str:
    """Deterministic id: a hash of study, paper, source, sentence position and text, and claim index."""
    key = "\x1f".join([study, paper_id, source, str(sentence_index), sentence, str(index)])
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def parse_sentences(sentences: list[str], vocab_path: str | None = None) -> list[list[dict]]:
    """Claims of each sentence (a list per sentence), for callers outside the workflow."""
    parser = SentenceParser(load_vocab(vocab_path or None))
    return [parser.parse(s) for s in sentences]


def _title_fallback(claim: dict, title_subject: dict, parser: SentenceParser) -> dict:
    """A claim naming no device, model or method takes the ones its paper's title names."""
    named = any(claim.get(f"subject_{k}") for k in ("device", "model", "method"))
    claim["subject_from_title"] = False
    if claim["kind"] == "not_empirical" or named or not title_subject:
        return claim
    for k, v in title_subject.items():
        if not claim.get(f"subject_{k}") and v != claim.get(f"baseline_{k}"):
            claim[f"subject_{k}"] = v
            claim["subject_from_title"] = True
            implied = parser.vocab.implied_baseline(CATEGORY.get(k, ""), v)
            if implied and claim["kind"] in ("ratio", "change") and not any(
                    claim.get(f"baseline_{f}") for f in CATEGORY):
                claim[f"baseline_{k}"] = implied
    return claim


CONTEXT_FIELDS = ("device", "model", "backend", "precision")
PARAGRAPH = re.compile(r"\n\s*\n")


def sentence_context(parser: SentenceParser, sentences: list[str], text: str) -> list[dict]:
    """Per sentence, the device/model/backend/precision the sentences before it in its paragraph name
    unambiguously (the latest such sentence wins; a sentence naming two of a field, 'L4 and T4', sets none)."""
    out, ctx, para, pos = [], {}, 0, 0
    for sentence in sentences:
        at = text.find(sentence[:40], pos)
        if at >= 0:
            here = len(PARAGRAPH.findall(text, 0, at))
            if here != para:  # a new paragraph starts with no context
                para, ctx = here, {}
            pos = at + 1
        out.append(dict(ctx))
        named: dict[str, set] = {}
        for m in parser.vocab.mentions(prepare(normalize(sentence))):
            f = FIELD.get(m.category)
            if f in CONTEXT_FIELDS and not (f == "device" and m.name == "gpu"):
                named.setdefault(f, set()).add(m.name)
        for f, v in named.items():
            v = v - {"cpu"} if f == "device" and len(v) > 1 else v  # 'Intel Xeon CPUs': the Xeon
            if len(v) == 1:
                ctx[f] = next(iter(v))
    return out


def _context_fill(claim: dict, context: dict) -> dict:
    """A claim naming no device, model, backend or precision on either side takes it from its paragraph's
    earlier sentences; `subject_from` says where its subject came from (sentence / context / title)."""
    claim["subject_from"], claim["subject_context"] = "sentence", ""
    if claim["kind"] == "not_empirical" or not context:
        return claim
    filled = []
    for f in CONTEXT_FIELDS:
        v = context.get(f)
        if v and not claim.get(f"subject_{f}") and not claim.get(f"baseline_{f}"):
            claim[f"subject_{f}"] = v
            filled.append(f"{f}={v}")
    if filled:
        claim["subject_from"], claim["subject_context"] = "context", ",".join(filled)
    return claim


def paper_claims(parser: SentenceParser, study: str, paper_id: str, texts: list[tuple[str, str]],
                 title: str = "", llm=None, pdf_path: str | None = None,
                 origins: dict[str, str] | None = None) -> list[dict]:
    """Claims of one paper from (section, text) pairs, duplicates within the paper merged; with `llm`,
    the model's claims of every sentence holding a number beside the rules' ones; with `pdf_path`,
    claims of the PDF's tables. `origins` maps a section to the origin of its text (pdf / abstract /
    snapshot): each claim's `text_origin` is that of the text it was read from (tables: `pdf`)."""
    rows, seen = [], {}
    from_title = parser.title_subject(title)
    for section, text in texts:
        sentences = split_sentences(text or "")
        contexts = sentence_context(parser, sentences, text or "")
        for si, sentence in enumerate(sentences):
            if llm is not None and HAS_NUMBER.search(sentence):
                for r in llm.sentence_claims(sentence):
                    r.update(study=study, paper_id=paper_id, section=section, sentence_index=si, source="sentence",
                             mentions=1, also_in=section, subject_from_title=False, subject_from="sentence",
                             text_origin=(origins or {}).get(section, ""))
                    r["claim_id"] = claim_id(study, paper_id, f"llm:{section}", si, sentence, r["claim_index"])
                    rows.append(r)
            for claim in parser.parse(sentence):
                claim = _title_fallback(_context_fill(claim, contexts[si]), from_title, parser)
                if claim["subject_from_title"] and claim["subject_from"] == "sentence":
                    claim["subject_from"] = "title"
                row = {"study": study, "paper_id": paper_id, "section": section, "sentence_index": si, **claim,
                       "source": "sentence", "extractor": "rules", "verbatim": True, "source_sentence": sentence,
                       "status": "ok", "reason": "", "text_origin": (origins or {}).get(section, "")}
                source = section  # the id hashes the section as before, so ids of existing claims do not change
                row["claim_id"] = claim_id(study, paper_id, source, si, row["sentence"], claim["claim_index"])
                key = tuple(row.get(c) for c in _SAME) + ((row["sentence"],) if row["kind"] == "not_empirical" else ())
                if key in seen:
                    first = seen[key]
                    first["mentions"] += 1
                    if source not in first["also_in"].split(","):
                        first["also_in"] = ",".join(sorted(set(first["also_in"].split(",")) | {source}))
                    continue
                row["mentions"], row["also_in"] = 1, source
                seen[key] = row
                rows.append(row)
    if pdf_path:
        for ti, r in enumerate(pdf_table_claims(parser, pdf_path)):
            r.update(study=study, paper_id=paper_id, section="pdf", source="table", extractor="rules", verbatim=True,
                     source_sentence=r["sentence"], sentence_index=int(r.get("table_index") or 0), claim_index=ti,
                     mentions=1, also_in="pdf", subject_from_title=False, subject_from="sentence", text_origin="pdf")
            r["claim_id"] = claim_id(study, paper_id, "table", r["sentence_index"], r["sentence"], ti)
            rows.append(r)
    return rows


def _texts(papers: pd.DataFrame, fulltext: pd.DataFrame | None, use_full_text: bool) -> dict[str, tuple]:
    """paper_id -> (title, [(source, text)], {source: text_origin})."""
    full, full_origin = {}, {}
    if use_full_text and fulltext is not None and not fulltext.empty:
        ok = fulltext[fulltext["status"] == "ok"]
        full = dict(zip(ok["paper_id"].astype(str), ok["text"].fillna("")))
        if "text_origin" in ok.columns:
            full_origin = dict(zip(ok["paper_id"].astype(str), ok["text_origin"].fillna("")))
    out = {}
    titles = papers["title"].fillna("") if "title" in papers.columns else [""] * len(papers)
    # an abstract is the arXiv API's unless the record came from an offline corpus
    if "text_origin" in papers.columns:
        abstract_origin = papers["text_origin"].fillna("").astype(str).tolist()
    else:
        sources = papers["source"] if "source" in papers.columns else pd.Series([""] * len(papers))
        abstract_origin = ["snapshot" if s == "snapshot" else "abstract" for s in sources.astype(str)]
    for pid, title, abstract, a_origin in zip(papers["paper_id"].astype(str), titles, papers["abstract"].fillna(""),
                                              abstract_origin):
        parts = [("abstract", abstract)] + ([("full_text", full[pid])] if full.get(pid) else [])
        out[pid] = (title, parts, {"abstract": a_origin, "full_text": full_origin.get(pid, a_origin)})
    return out


def _llm(cfg: ClaimsConfig):
    if cfg.backend != "openai":
        return None
    return LLMExtractor(LLMConfig(cfg.endpoint, cfg.model, cfg.timeout_s, cfg.retries, cfg.api_key_env))


def claims_frame(study: str, papers: pd.DataFrame, fulltext: pd.DataFrame | None, cfg: ClaimsConfig,
                 progress: bool = True, pdf_dir: str | None = None) -> pd.DataFrame:
    """The claims table of one study (deterministic: rows ordered by paper, source, sentence, index)."""
    for col in ("paper_id", "abstract"):
        if col not in papers.columns:
            raise ClaimsInputError(f"papers table lacks column '{col}'; rerun screen_papers")
    if cfg.kept_only and "kept" in papers.columns:
        papers = papers[papers["kept"].astype(bool)]
    parser = SentenceParser(load_vocab(cfg.vocab_path or None))
    texts = _texts(papers, fulltext, cfg.use_full_text)
    llm = _llm(cfg)
    rows = []
    for pid in tqdm(sorted(texts), desc=f"claims {study}", unit="paper", disable=not progress or len(texts) < 20):
        title, parts, origins = texts[pid]
        pdf = cached_pdf_path(pdf_dir, pid) if pdf_dir and cfg.tables and cfg.use_full_text else None
        rows.extend(paper_claims(parser, study, pid, parts, title, llm, str(pdf) if pdf and pdf.is_file() else None,
                                 origins))
    df = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    for c in ("value", "value_from", "value_to", "low", "high"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("sentence_index", "claim_index", "mentions"):
        df[c] = df[c].astype("int64")
    for c in ("table_page", "table_index", "table_row", "table_col"):
        df[c] = df[c].astype("Int64")
    df["verbatim"] = df["verbatim"].astype(bool)
    return df


def extract_claims(study: str, papers_path: str, fulltext_path: str | None, output: str, cfg: dict,
                   pdf_dir: str | None = None) -> pd.DataFrame:
    """Write results/{study}/claims.parquet from the screened papers, their full text and cached PDFs' tables."""
    conf = ClaimsConfig.from_dict(cfg)
    try:
        papers = pd.read_parquet(papers_path)
        fulltext = pd.read_parquet(fulltext_path) if fulltext_path and Path(fulltext_path).exists() else None
    except (OSError, ValueError) as exc:
        raise ClaimsInputError(f"cannot read claims inputs: {exc}") from exc
    df = claims_frame(study, papers, fulltext, conf, pdf_dir=pdf_dir)
    write_parquet(output, df)
    counts = df["kind"].value_counts().to_dict() if not df.empty else {}
    log.info("%s: %d claims from %d papers %s", study, len(df), df["paper_id"].nunique(), counts)
    return df
