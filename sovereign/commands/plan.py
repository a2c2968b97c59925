"""`sovereign plan "question"`: show the queries plan_queries derives for a question."""
from __future__ import annotations

import json

from ..config import ROOT
from ..literature.queries import load_expansions, plan_queries


def add_parser(sub):
    """Register the subcommand."""
    p = sub.add_parser("plan", help="print the search queries planned for a question")
    p.add_argument("question")
    p.add_argument("--min-queries", type=int, default=4)
    p.add_argument("--expansions", default=str(ROOT / "resources" / "query_expansions.yaml"),
                   help="query-expansion YAML file ('' for none; default: %(default)s)")
    return p


def run(args) -> int:
    """Print one JSON line per query."""
    expansions = load_expansions(args.expansions) if args.expansions else []
    for q in plan_queries(args.question, None, args.min_queries, expansions):
        print(json.dumps(q, ensure_ascii=False))
    return 0
