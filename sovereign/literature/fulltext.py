"""fetch_fulltext: full text of kept papers (PDF for live records, `full_text` for snapshot ones).

Each row says where its text came from (`text_origin`): `pdf` (extracted from the arXiv PDF),
`abstract` (no full text: the claims read the arXiv API's abstract only) or `snapshot` (an
offline corpus record). A live record is never given corpus text, even when its id is in the
corpus: the bundled corpus is our paraphrase, not the paper. Downloads are cached and
size-limited; a PDF that cannot be fetched or parsed is a recorded failure with its reason,
never a crash.
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pandas as pd
import requests
from tqdm import tqdm

from ..io import atomic_path, write_parquet, write_text
from .snapshot import load_corpus

log = logging.getLogger(__name__)
COLUMNS = ["study", "paper_id", "status", "text_origin", "fetched", "chars", "reason", "text"]
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def cached_pdf_path(cache_dir: str | Path, paper_id: str) -> Path:
    """Where fetch_fulltext keeps a paper's downloaded PDF (the claims stage reads its tables there)."""
    return Path(cache_dir) / f"{_SAFE.sub('_', paper_id)}.pdf"


def extract_pdf_text(data: bytes, max_chars: int) -> str:
    """Text of a PDF's pages, joined, cut at max_chars; raises ValueError for an unreadable PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        parts, total = [], 0
        for page in reader.pages:
            txt = page.extract_text() or ""
            parts.append(txt)
            total += len(txt)
            if total >= max_chars:
                break
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = re.sub(r"-\n(?=[a-z])", "", "\n".join(parts))  # re-join hyphenated line breaks
    text = re.sub(r"\s*\n\s*", " ", text)
    if not text.strip():
        raise ValueError("PDF has no extractable text (scanned images?)")
    return text[:max_chars]


def download_pdf(url: str, dest: Path, max_bytes: int, timeout_s: float = 60) -> bytes:
    """Stream a PDF to `dest` (atomically), refusing anything over max_bytes."""
    with requests.get(url, stream=True, timeout=timeout_s, headers={"User-Agent": "sovereign"}) as resp:
        resp.raise_for_status()
        declared = int(resp.headers.get("Content-Length") or 0)
        if declared > max_bytes:
            raise ValueError(f"PDF is {declared / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")
        buf = bytearray()
        for chunk in resp.iter_content(1 << 16):
            buf.extend(chunk)
            if len(buf) > max_bytes:
                raise ValueError(f"PDF exceeds the {max_bytes / 1e6:.0f} MB limit")
    data = bytes(buf)
    if not data.startswith(b"%PDF"):
        raise ValueError("the download is not a PDF")
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return data


def is_snapshot(paper: dict) -> bool:
    """Whether a screened paper came from an offline corpus record rather than the live API."""
    return str(paper.get("source") or "") == "snapshot"


def _one(paper: dict, corpus: dict, cfg: dict) -> dict:
    pid = paper["paper_id"]
    # `fetched`: how the text was obtained (download, cache, corpus); `text_origin`: what the text is
    row = {"study": paper["study"], "paper_id": pid, "status": "none", "chars": 0, "reason": "", "text": "",
           "text_origin": "snapshot" if is_snapshot(paper) else "abstract", "fetched": ""}
    if is_snapshot(paper):
        rec = corpus.get(pid)
        if rec is None:
            return {**row, "reason": "the record came from an offline corpus that is not an input here "
                                     "(or no longer holds it)"}
        if not rec.get("full_text"):
            return {**row, "reason": "the corpus record has no full_text"}
        text = rec["full_text"][: cfg["max_chars"]]
        return {**row, "status": "ok", "fetched": "corpus", "chars": len(text), "text": text}
    url = paper.get("pdf_url") or ""
    if not url:
        return {**row, "status": "failed", "reason": "the arXiv record has no PDF link; only its abstract is read"}
    cache = Path(cfg["cache_dir"])
    txt_file = cache / f"{_SAFE.sub('_', pid)}.txt"
    if txt_file.exists():  # written below, from this paper's PDF only
        text = txt_file.read_text(encoding="utf-8")[: cfg["max_chars"]]
        return {**row, "status": "ok", "text_origin": "pdf", "fetched": "cache", "chars": len(text), "text": text}
    try:
        data = download_pdf(url, cache / f"{_SAFE.sub('_', pid)}.pdf", int(cfg["max_pdf_mb"] * 1e6))
        text = extract_pdf_text(data, cfg["max_chars"])
    except (requests.RequestException, ValueError) as exc:
        log.warning("full text of %s failed: %s", pid, exc)
        return {**row, "status": "failed", "fetched": "download", "reason": f"{str(exc)[:480]}; only its abstract is read"}
    write_text(txt_file, text)
    return {**row, "status": "ok", "text_origin": "pdf", "fetched": "download", "chars": len(text), "text": text}


def fetch_fulltext(papers_path: str, output: str, snapshot_path: str | None, cfg: dict) -> pd.DataFrame:
    """Write one row per kept paper with its text or the reason there is none.

    `snapshot_path` is the corpus that snapshot records came from (None with a live-only source);
    only those records read it."""
    papers = pd.read_parquet(papers_path)
    kept = papers[papers["kept"]].to_dict("records")
    rows = []
    if not cfg.get("enabled", True):
        rows = [{"study": p["study"], "paper_id": p["paper_id"], "status": "disabled",
                 "text_origin": "snapshot" if is_snapshot(p) else "abstract", "fetched": "",
                 "chars": 0, "reason": "literature.fulltext.enabled is false", "text": ""} for p in kept]
    else:
        corpus = {}
        if snapshot_path and any(is_snapshot(p) for p in kept):
            corpus = {r["id"]: r for r in load_corpus(snapshot_path)}
        for paper in tqdm(kept, desc="full text", unit="paper", disable=len(kept) < 5):
            rows.append(_one(paper, corpus, cfg))
    df = pd.DataFrame(rows, columns=COLUMNS)
    write_parquet(output, df)
    log.info("full text: %d ok, %d failed, %d without", int((df.status == "ok").sum()),
             int((df.status == "failed").sum()), int((df.status.isin(["none", "disabled"])).sum()))
    return df
