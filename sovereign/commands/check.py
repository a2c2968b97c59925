"""`sovereign check "<sentence>"` (or `--paper ID`): the claims read, the smallest benchmark grid that tests
them run on one device entry, and the checks printed with their arithmetic.

Exit status: 0 when every testable claim reproduced, 1 when one did not, 2 on an error."""
from __future__ import annotations

import sys


def add_parser(sub):
    """Register the subcommand."""
    p = sub.add_parser("check", help="check one sentence's (or one paper's) claims against a benchmark run here",
                       description="Read the claims of a sentence (or of an arXiv paper, --paper), run the smallest "
                                   "CNN benchmark grid that tests them on one device entry, and print each check "
                                   "with its arithmetic, the rows used and the files written. Exit status: 0 every "
                                   "testable claim reproduced, 1 one did not, 2 error.")
    p.add_argument("sentence", nargs="?", help="the sentence to check, e.g. \"ResNet-18 FP32 inference with PyTorch "
                                               "reaches 500 images/s at batch size 8\"")
    p.add_argument("--paper", help="an arXiv id: check that paper's claims instead (literature.source says from where)")
    p.add_argument("--device", default="cpu", help="device entry to benchmark on (default: %(default)s)")
    p.add_argument("--config", help="your config file, applied on config/config.yaml (as --configfile is)")
    p.add_argument("--out", default="results/check", help="where rows and checks are written (default: %(default)s)")
    p.add_argument("--time-budget", type=float, help="seconds of timing per batch size (default: the config's)")
    return p


def run(args) -> int:
    """Run the check; errors are exit status 2 (a failed check is 1)."""
    from ..errors import SovereignError

    try:
        from ..checkone.run import check_command

        return check_command(args)
    except SovereignError as exc:
        print(f"sovereign check: {exc}", file=sys.stderr)
        return 2
