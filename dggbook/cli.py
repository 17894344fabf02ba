"""The ``dggbook`` command: ``dggbook check`` (the derivation registry) and ``dggbook train``."""
from __future__ import annotations

import argparse
import json
import sys


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
    from .checks import run_checks

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dggbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run every derivation check and print a table")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--only", nargs="*", help="run only checks whose name contains one of these strings")
    check.set_defaults(func=_check)
    try:
        from .train_cli import add_train_arguments, run_train
    except ImportError:  # the training CLI is optional while the model is being built
        pass
    else:
        train = sub.add_parser("train", help="train DGG on a dataset and report ACC, NMI, ARI")
        add_train_arguments(train)
        train.set_defaults(func=run_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
