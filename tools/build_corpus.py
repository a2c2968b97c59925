#!/usr/bin/env python
"""Fetch arXiv records (by id or by query) and merge them into a JSONL offline corpus.

    .venv/bin/python tools/build_corpus.py --ids 2205.14135 2309.06180
    .venv/bin/python tools/build_corpus.py --ids-file more_ids.txt --out my_corpus.jsonl
    .venv/bin/python tools/build_corpus.py --query "mixture of experts routing latency" --max-results 25

Records go through the project's own arXiv client (sovereign.literature.arxiv_source):
request timeout, retries with backoff, at least 3 s between requests by default, and
a check that every answer is a real Atom feed. The corpus is deduplicated by id; an
existing record keeps its hand-written abstract and full text unless
--replace-abstracts is given. Every record is checked before anything is written; a
malformed one stops the run and the corpus file is left as it was.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sovereign.errors import ArxivError, CorpusError  # noqa: E402
from sovereign.io import atomic_path, iter_jsonl  # noqa: E402

DEFAULT_OUT = ROOT / "resources" / "corpus" / "arxiv_snapshot.jsonl"
DEFAULT_URL = "https://export.arxiv.org/api/query"
FIELD_ORDER = ("id", "title", "authors", "published", "categories", "abstract", "abstract_source", "figure_location",
               "full_text", "paraphrase")
BIBLIO = ("title", "authors", "published", "categories")
NEW_ID = re.compile(r"^\d{4}\.\d{4,5}$")
OLD_ID = re.compile(r"^[a-z][a-z.\-]*/\d{7}$", re.IGNORECASE)
DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
VERSION = re.compile(r"v\d+$")


def normalize_id(raw: str) -> str:
    """Strip URL prefixes and a version suffix: 'https://arxiv.org/abs/2205.14135v2' -> '2205.14135'."""
    text = raw.strip()
    for prefix in ("https://arxiv.org/abs/", "http://arxiv.org/abs/", "arXiv:", "arxiv:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return VERSION.sub("", text)


def validate_record(rec: dict, where: str = "record") -> dict:
    """Check one corpus record; return it in canonical field order or raise CorpusError naming the field."""
    if not isinstance(rec, dict):
        raise CorpusError(f"{where}: a record must be a JSON object, got {type(rec).__name__}")
    rid = rec.get("id")
    if not isinstance(rid, str) or not (NEW_ID.match(rid) or OLD_ID.match(rid)):
        raise CorpusError(f"{where}: 'id' {rid!r} is not an arXiv id such as 2205.14135 or hep-th/9901001 "
                          "(no version suffix)")
    where = f"{where} {rid}"
    for key in ("title", "abstract"):
        if not isinstance(rec.get(key), str) or not rec[key].strip():
            raise CorpusError(f"{where}: '{key}' must be a non-empty string")
    for key in ("authors", "categories"):
        val = rec.get(key)
        if not isinstance(val, list) or not val or not all(isinstance(v, str) and v.strip() for v in val):
            raise CorpusError(f"{where}: '{key}' must be a non-empty list of non-empty strings")
    if not isinstance(rec.get("published"), str) or not DATE.match(rec["published"]):
        raise CorpusError(f"{where}: 'published' {rec.get('published')!r} must be YYYY-MM-DD or YYYY-MM")
    for key in ("full_text", "abstract_source"):
        if key in rec and not isinstance(rec[key], str):
            raise CorpusError(f"{where}: '{key}' must be a string when present")
    if "paraphrase" in rec and not isinstance(rec["paraphrase"], bool):
        raise CorpusError(f"{where}: 'paraphrase' must be true or false when present")
    locs = rec.get("figure_location")
    # figure -> where the paper states it ("Table 3", "abstract"), so a reader can check our numbers
    if locs is not None and not (isinstance(locs, dict) and locs and all(
            isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in locs.items())):
        raise CorpusError(f"{where}: 'figure_location' must map each figure (string) to where the paper states it")
    extra = sorted(set(rec) - set(FIELD_ORDER))
    if extra:
        raise CorpusError(f"{where}: unknown field(s) {extra}; allowed: {list(FIELD_ORDER)}")
    return {k: rec[k] for k in FIELD_ORDER if k in rec}


def from_arxiv(rec: dict) -> dict:
    """Turn a record of ArxivSource into a corpus record (the abstract is arXiv's, marked as such)."""
    return {"id": normalize_id(rec.get("id", "")), "title": rec.get("title", ""), "authors": rec.get("authors", []),
            "published": rec.get("published", ""), "categories": rec.get("categories", []),
            "abstract": rec.get("abstract", ""), "abstract_source": "arxiv"}


def read_corpus(path: Path) -> list[dict]:
    """Read an existing corpus (missing file -> empty); every record is validated."""
    if not path.exists():
        return []
    out, seen = [], set()
    try:
        for lineno, rec in iter_jsonl(path):
            rec = validate_record(rec, f"{path}:{lineno}")
            if rec["id"] in seen:
                raise CorpusError(f"{path}:{lineno}: duplicate id {rec['id']!r}; fix the corpus first")
            seen.add(rec["id"])
            out.append(rec)
    except ValueError as exc:
        raise CorpusError(f"{exc}; fix the line first") from exc
    return out


def merge(existing: list[dict], fetched: list[dict], replace_abstracts: bool = False,
          only_new: bool = False) -> tuple[list[dict], dict]:
    """Merge fetched records into the corpus by id; return the new corpus and counts of what changed."""
    by_id = {r["id"]: dict(r) for r in existing}
    order = [r["id"] for r in existing]
    stats = {"added": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    for i, raw in enumerate(fetched):
        rec = validate_record(raw, f"fetched record #{i + 1}")
        old = by_id.get(rec["id"])
        if old is None:
            by_id[rec["id"]] = rec
            order.append(rec["id"])
            stats["added"] += 1
            continue
        if only_new:
            stats["skipped"] += 1
            continue
        new = dict(old)
        new.update({k: rec[k] for k in BIBLIO})
        if replace_abstracts:
            new["abstract"], new["abstract_source"] = rec["abstract"], rec.get("abstract_source", "arxiv")
            if not new.get("full_text"):  # what was our paraphrase is now arXiv's text
                new.pop("paraphrase", None)
        new = validate_record(new, f"merged record {rec['id']}")
        stats["updated" if new != old else "unchanged"] += 1
        by_id[rec["id"]] = new
    return [by_id[i] for i in order], stats


def write_corpus(path: Path, records: list[dict]) -> int:
    """Validate every record, then write the corpus atomically (nothing is written if one is bad)."""
    checked = [validate_record(r, f"record #{i + 1}") for i, r in enumerate(records)]
    ids = [r["id"] for r in checked]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CorpusError(f"refusing to write {path}: duplicate ids {dupes}")
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for rec in checked:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(checked)


def read_ids(args) -> list[str]:
    """Ids from --ids and --ids-file (one per line, '#' starts a comment), normalised and deduplicated."""
    raw = list(args.ids or [])
    if args.ids_file:
        for line in Path(args.ids_file).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                raw.append(line)
    ids = list(dict.fromkeys(normalize_id(i) for i in raw))
    bad = [i for i in ids if not (NEW_ID.match(i) or OLD_ID.match(i))]
    if bad:
        raise CorpusError(f"not arXiv ids: {bad}; give ids such as 2205.14135 or hep-th/9901001")
    return ids


def parse_args(argv=None):
    """Command-line arguments."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = ap.add_argument_group("what to fetch (at least one)")
    what.add_argument("--ids", nargs="+", metavar="ID", help="arXiv ids (versions and abs/ URLs are accepted)")
    what.add_argument("--ids-file", help="file with one arXiv id per line")
    what.add_argument("--query", help="an arXiv search query (relevance-sorted)")
    ap.add_argument("--max-results", type=int, default=20, help="records per --query (default 20)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="corpus JSONL to merge into (default: the bundled one)")
    ap.add_argument("--replace-abstracts", action="store_true",
                    help="replace abstracts of records already in the corpus with arXiv's text")
    ap.add_argument("--only-new", action="store_true", help="leave records already in the corpus untouched")
    ap.add_argument("--dry-run", action="store_true", help="fetch and merge, report, write nothing")
    ap.add_argument("--base-url", default=DEFAULT_URL, help="arXiv API endpoint")
    ap.add_argument("--timeout-s", type=float, default=30.0, help="seconds before a request is abandoned")
    ap.add_argument("--retries", type=int, default=3, help="retries after a 5xx answer or a connection error")
    ap.add_argument("--backoff-s", type=float, default=3.0, help="first retry wait, doubled each time")
    ap.add_argument("--delay-s", type=float, default=3.0, help="seconds between requests (arXiv asks for 3)")
    ap.add_argument("--cache-dir", default=None, help="on-disk cache for --query results (default: none)")
    args = ap.parse_args(argv)
    if not (args.ids or args.ids_file or args.query):
        ap.error("give --ids, --ids-file or --query")
    if args.max_results < 1:
        ap.error("--max-results must be at least 1")
    return args


def main(argv=None) -> int:
    """Fetch, merge, validate, write; 0 on success, 1 when some ids were not found, 2 on errors."""
    args = parse_args(argv)
    from sovereign.literature.arxiv_source import ArxivSource

    try:
        ids = read_ids(args)
        src = ArxivSource(args.base_url, timeout_s=args.timeout_s, retries=args.retries, backoff_s=args.backoff_s,
                          delay_s=args.delay_s, cache_dir=args.cache_dir)
        fetched = [from_arxiv(r) for r in src.fetch_ids(ids)] if ids else []
        missing = sorted(set(ids) - {r["id"] for r in fetched})
        if args.query:
            fetched += [from_arxiv(r) for r in src.search(args.query, args.max_results)]
        out = Path(args.out)
        corpus, stats = merge(read_corpus(out), fetched, args.replace_abstracts, args.only_new)
        if not args.dry_run:
            write_corpus(out, corpus)
    except (ArxivError, CorpusError, OSError) as exc:
        print(f"build_corpus: {exc}", file=sys.stderr)
        return 2
    verb = "would write" if args.dry_run else "wrote"
    print(f"build_corpus: fetched {len(fetched)}; added {stats['added']}, updated {stats['updated']}, "
          f"unchanged {stats['unchanged']}, skipped {stats['skipped']}; {verb} {len(corpus)} records to {out}")
    if missing:
        print(f"build_corpus: arXiv returned nothing for {len(missing)} id(s): {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
