"""The ``dggbook`` command: ``dggbook check`` (the derivation registry) and ``dggbook train``.

A user's mistake on the command line ends with exit status 2 and one line on
stderr that names the option, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from .environment import pin_cpu_math


def _print_table(results) -> None:
    name_width = max(len(r.name) for r in results)
    header = f"{'step':<7} {'check':<{name_width}}  {'error':>9}  {'tol':>7}  result"
    print(header)
    print("-" * len(header))
    for r in results:
        verdict = "ok" if r.passed else "FAIL"
        if r.expect == "differ":
            verdict += " (must differ)"
        print(f"{r.equation:<7} {r.name:<{name_width}}  {r.error:9.2e}  {r.tolerance:7.0e}  {verdict}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")


def _check(args) -> int:
    from .derivation.checks import run_checks

    results = run_checks(args.only or None)
    if not results:
        print(f"no check matches {args.only}", file=sys.stderr)
        return 2
    if args.json:
        json.dump([r.as_dict() for r in results], sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table(results)
    return 0 if all(r.passed for r in results) else 1


DESCRIPTION = ("dggbook: DGG (deep clustering by Gaussian-mixture VAEs with graph embedding, ICCV 2019), "
               "one derivation step at a time. 'dggbook check' runs every derivation check; "
               "'dggbook train' fits DGG on a data set and reports ACC, NMI and ARI.")


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) instead of the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .train_cli import add_train_arguments, run_train  # loads torch: after main() pinned the kernels

    parser = OneLineErrorParser(prog="dggbook", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    check = sub.add_parser("check", help="run every derivation check and print a table")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--only", nargs="*", help="run only checks whose name contains one of these strings")
    check.set_defaults(func=_check)
    train = sub.add_parser("train", help="train DGG on a dataset and report ACC, NMI, ARI",
                           description="Fit DGG on a data set; print ACC, NMI, ARI; write metrics.json, "
                                       "model.pt and two figures.")
    add_train_arguments(train)
    train.set_defaults(func=run_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    pin_cpu_math()  # before torch loads (dggbook.environment): the command line computes on the pinned kernels
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
