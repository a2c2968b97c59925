"""`python -m sovereign.bench.moe ...`: the `sovereign moe` command without the CLI's other subcommands' imports."""
from __future__ import annotations

import argparse
import logging
import sys

from ...commands.moe import fill_parser, run
from ...errors import SovereignError


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the grid."""
    parser = fill_parser(argparse.ArgumentParser(prog="python -m sovereign.bench.moe",
                                                 description="Run the moe_routing benchmark suite."))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(parser.parse_args(argv))
    except SovereignError as exc:
        print(f"sovereign: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
