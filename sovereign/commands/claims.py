"""`sovereign claims`: read sentences (arguments, --file or stdin) and print structured claims as JSON lines."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..claims.errors import ClaimsInputError
from ..claims.parse import SentenceParser
from ..claims.vocab import load_vocab
from ..text import split_sentences


def add_parser(sub):
    """Register the subcommand."""
    p = sub.add_parser("claims", help="extract structured claims from sentences and print them as JSON lines",
                       description="Each input sentence gives one JSON line per claim; a sentence without a claim "
                                   "gives one line with kind 'not_a_claim' (unless --claims-only).")
    p.add_argument("sentences", nargs="*", help="sentences to read; none means --file or standard input")
    p.add_argument("--file", "-f", help="text file to read (split into sentences); '-' is standard input")
    p.add_argument("--vocab", default="", help="vocabulary YAML (default: the bundled config/vocab.yaml)")
    p.add_argument("--claims-only", action="store_true", help="print nothing for sentences without a claim")
    p.add_argument("--no-split", action="store_true", help="treat each input line as one sentence")
    return p


def _texts(args) -> list[str]:
    if args.sentences:
        return list(args.sentences)
    if args.file and args.file != "-":
        path = Path(args.file)
        if not path.is_file():
            raise ClaimsInputError(f"--file {path}: no such file")
        return [path.read_text(encoding="utf-8")]
    if sys.stdin.isatty() and not args.file:
        raise ClaimsInputError("give sentences as arguments, with --file PATH, or on standard input")
    return [sys.stdin.read()]


def run(args) -> int:
    """Print one JSON object per claim (or per sentence without one)."""
    parser = SentenceParser(load_vocab(args.vocab or None))
    for text in _texts(args):
        chunks = text.splitlines() if args.no_split else [text]
        for chunk in chunks:
            for sentence in (split_sentences(chunk) if not args.no_split else [chunk.strip()]):
                if not sentence:
                    continue
                rows = parser.parse(sentence)
                if not rows and not args.claims_only:
                    rows = [{"sentence": sentence, "kind": "not_a_claim"}]
                for row in rows:
                    print(json.dumps(row, ensure_ascii=False))
    return 0
