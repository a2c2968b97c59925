"""`sovereign sql "SELECT ..."`: read-only SQL on the DuckDB warehouse."""
from __future__ import annotations

import sys


def markdown(df) -> str:
    """The result as a Markdown table, each cell as pandas prints it: a text column (a paper id such as
    2604.14552) is never re-read as a number, as tabulate's own number parsing would."""
    cells = df.astype(object).where(df.notna(), "").map(str) if len(df.columns) else df
    return cells.to_markdown(index=False, disable_numparse=True)


def add_parser(sub):
    """Register the subcommand."""
    p = sub.add_parser("sql", help="run read-only SQL on the warehouse",
                       description="Run read-only SQL on the DuckDB warehouse and print the result.")
    p.add_argument("sql", help='the query, e.g. "SELECT count(*) FROM papers"')
    p.add_argument("--db", default="results/sovereign.duckdb", help="warehouse file (default: %(default)s)")
    p.add_argument("--format", choices=["table", "csv", "json", "markdown"], default="table",
                   help="output format (default: %(default)s)")
    p.add_argument("--max-rows", type=int, default=200, help="rows printed in table format (default: %(default)s)")
    return p


def run(args) -> int:
    """Print the query's result."""
    import pandas as pd

    from ..warehouse import query  # duckdb only when asked: GPU hosts run `sovereign bench` without it

    df = query(args.db, args.sql)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        sys.stdout.write(df.to_json(orient="records", lines=True, date_format="iso", force_ascii=False))
    elif args.format == "markdown":
        print(markdown(df))
    else:
        with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", 50,
                               "display.width", 200, "display.max_colwidth", 80):
            print(df.to_string(index=False) if len(df) <= args.max_rows else df)
    return 0
