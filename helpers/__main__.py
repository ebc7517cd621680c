"""Command line: ``python -m helpers {run,refresh,models,records,params,zoo} ...`` (the Makefile's targets use it)."""
from __future__ import annotations

import argparse
import json
import sys

import yaml

from . import zoo
from .notebook import runner
from .core.records import read_records


def _assignment(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name, yaml.safe_load(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks under a profile into runs/PROFILE/ and print a summary")
    run.add_argument("--profile", default="default", help="default, smoke, pretrained ... (notebooks/profiles.yaml)")
    run.add_argument("--nb", nargs="*", help="notebooks to run (01 or 01_signal_basics); all by default")
    run.add_argument("-p", "--param", action="append", type=_assignment, default=[],
                     help="extra parameter for every selected notebook, e.g. -p seed=1 (value parsed as YAML)")
    run.add_argument("--out", help="output folder (default runs/PROFILE)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML export")
    refresh = sub.add_parser("refresh", help="re-execute committed notebooks in place with their defaults")
    refresh.add_argument("--nb", nargs="*")
    models = sub.add_parser("models", help="prefetch the hub checkpoints a profile names")
    models.add_argument("--profile", default="pretrained")
    records = sub.add_parser("records", help="print an executed notebook's records as JSON")
    records.add_argument("notebook")
    params = sub.add_parser("params", help="print a notebook's parameters and their defaults")
    params.add_argument("notebook", help="01, 01_signal_basics or a path")
    zoo_parser = sub.add_parser("zoo", help="the project's pretrained miniatures: list them, or train one with its recipe")
    zoo_sub = zoo_parser.add_subparsers(dest="zoo_command", required=True)
    zoo_sub.add_parser("list", help="the recipes and the released models")
    train = zoo_sub.add_parser("train", help="train a zoo model from nothing, measure it and write its card")
    train.add_argument("name", help="e.g. whisper-mini")
    train.add_argument("--smoke", action="store_true", help="the same recipe at seconds scale, into the cache")
    train.add_argument("--output", help="folder to write (default zoo/NAME)")
    train.add_argument("--force", action="store_true", help="replace a released model")
    args = parser.parse_args(argv)

    try:
        if args.command == "run":
            results = runner.run_profile(args.profile, args.nb, args.out, dict(args.param), html=not args.no_html)
            print(runner.summary_table(results))
            return 0 if all(r.ok for r in results) else 1
        if args.command == "refresh":
            results = runner.refresh(args.nb)
            print(runner.summary_table(results))
            return 0 if all(r.ok for r in results) else 1
        if args.command == "models":
            runner.prefetch(args.profile)
            return 0
        if args.command == "records":
            print(json.dumps(read_records(args.notebook), indent=1))
            return 0
        if args.command == "zoo":
            if args.zoo_command == "list":
                print("recipes:", ", ".join(sorted(zoo.RECIPES)), "· released:", ", ".join(zoo.zoo_models()) or "none")
            else:
                print(f"trained into {zoo.train(args.name, args.smoke, args.output, args.force)}")
            return 0
        path = runner.list_notebooks([args.notebook])[0]
        print(yaml.safe_dump(runner.notebook_parameters(path), sort_keys=False, allow_unicode=True), end="")
        return 0
    except (ValueError, FileNotFoundError) as err:  # includes ModelUnavailableError
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
