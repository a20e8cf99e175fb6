"""The ``plevaluate`` command.

``plevaluate validate DIR``  check a district's data folder and print a per-table summary.
``plevaluate sample OUT``    write the synthetic sample district to OUT.

Bad data never ends in a Python traceback: the command prints every problem and exits with 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import pandas as pd

from . import __version__
from .contract import load
from .errors import ContractError, ContractWarning

__all__ = ["main"]


def _summary_text(district) -> str:
    table = district.summary()
    lines = [
        f"{district.plan.program} ({district.plan.school_year}): {len(district.schools)} schools "
        f"({int(district.schools['group'].eq('participant').sum())} participant, "
        f"{int(district.schools['group'].eq('comparison').sum())} comparison), {len(district.educators)} educators; "
        f"min_n {district.plan.min_n}.",
        "",
    ]
    shown = pd.DataFrame(
        {
            "table": table["table"],
            "level": table["level"],
            "rows": table["rows"].map("{:,}".format),
            "schools": table["schools"].map(lambda n: f"{n}" if n else ""),
            "dates": [
                f"{a:%Y-%m-%d} to {b:%Y-%m-%d}" if pd.notna(a) else ""
                for a, b in zip(table["first_date"], table["last_date"])
            ],
            "warnings": table["warnings"].map(lambda n: f"{n}" if n else ""),
            "status": table["status"],
        }
    )
    lines.append(shown.to_string(index=False))
    if district.notes:
        lines += ["", f"{len(district.notes)} warning(s):"] + [f"  - {note}" for note in district.notes]
    return "\n".join(lines)


def _validate(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)  # they are printed in the summary instead
        district = load(args.data)
    print(_summary_text(district))
    print(f"\nOK: {args.data} meets the data contract.")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .sample import write_sample

    out = write_sample(args.out, n_schools=args.schools, seed=args.seed)
    print(f"Wrote a synthetic district of {args.schools} schools (seed {args.seed}) to {out}.")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plevaluate", description="Evaluate professional learning with Guskey's five levels."
    )
    parser.add_argument("--version", action="version", version=f"plevaluate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a data folder against the data contract")
    validate.add_argument("data", help="folder with the CSV tables and plan.yml")
    validate.set_defaults(run=_validate)
    sample = commands.add_parser("sample", help="write the synthetic sample district")
    sample.add_argument("out", help="folder to write")
    sample.add_argument("--schools", type=int, default=12, help="number of schools (default 12)")
    sample.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    sample.set_defaults(run=_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except ContractError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except ValueError as exc:  # bad arguments, e.g. too few schools for a sample
        print(f"plevaluate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
