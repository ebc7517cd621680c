"""Command line: ``python -m helpers {run,refresh,models,records,params,zoo} ...`` (the Makefile's targets use it)."""
from __future__ import annotations

import argparse
import json
import sys

import yaml

from . import zoo
from .core.engine import PRECISIONS, Options, process_state
from .notebook import runner
from .core.records import read_records


def _assignment(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name, yaml.safe_load(value)


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks under a profile into runs/PROFILE/ and print a summary")
    run.add_argument("--profile", default="default", help="default, smoke, pretrained ... (notebooks/profiles.yaml)")
    run.add_argument("--nb", nargs="+", action="extend",
                     help="notebooks to run (01 or 01_signal_basics; --nb 01 03 or --nb 01 --nb 03); all by default")
    run.add_argument("-p", "--param", action="append", type=_assignment, default=[],
                     help="extra parameter for every selected notebook, e.g. -p seed=1 (value parsed as YAML)")
    run.add_argument("--out", help="output folder (default runs/PROFILE)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML export")
    refresh = sub.add_parser("refresh", help="re-execute committed notebooks in place with their defaults")
    refresh.add_argument("--nb", nargs="+", action="extend", help="notebooks to refresh; all by default")
    models = sub.add_parser("models", help="prefetch the hub checkpoints a profile names")
    models.add_argument("--profile", default="pretrained")
    records = sub.add_parser("records", help="print an executed notebook's records as JSON")
    records.add_argument("notebook")
    params = sub.add_parser("params", help="print a notebook's parameters and their defaults")
    params.add_argument("notebook", help="01, 01_signal_basics or a path")
    zoo_parser = sub.add_parser("zoo", help="the project's pretrained miniatures: list them, or train one with its recipe")
    zoo_sub = zoo_parser.add_subparsers(dest="zoo_command", required=True)
    zoo_sub.add_parser("list", help="the recipes and the released models")
    measure = zoo_sub.add_parser("measure", help="re-measure a released zoo model with today's judges and rewrite its "
                                 "card (its training record kept)")
    measure.add_argument("name", help="e.g. musicgen-mini")
    train = zoo_sub.add_parser("train", help="train a zoo model from nothing, measure it and write its card")
    train.add_argument("name", help="e.g. whisper-mini")
    train.add_argument("--smoke", action="store_true", help="the same recipe at seconds scale, into the cache")
    train.add_argument("--output", help="folder to write (default zoo/NAME)")
    train.add_argument("--force", action="store_true",
                       help="replace a released model, or discard an interrupted run instead of resuming it")
    train.add_argument("--resume", action="store_true",
                       help="continue the interrupted run of the same command from its last saved state")
    train.add_argument("--save-every", type=_whole, default=100, metavar="N",
                       help="save the whole training state every N optimiser steps (default 100)")
    train.add_argument("--max-steps", type=_whole, metavar="N",
                       help="stop after optimiser step N of the recipe, keeping the state for --resume")
    train.add_argument("--mixed-precision", choices=PRECISIONS,
                       help="bf16: autocast to bfloat16 (CPU and recent GPUs); fp16: GPUs only (default: as accelerate "
                            "launch says, else no)")
    train.add_argument("--grad-accum", type=_whole, default=1, metavar="K",
                       help="compute each step's batch in K micro-batches: less memory, the same steps (default 1)")
    train.add_argument("--seed", type=int, help="the recipe's seed (its data, windows, initial weights)")
    train.add_argument("--set", dest="changes", action="append", type=_assignment, default=[], metavar="FIELD=VALUE",
                       help="change a recipe field, e.g. --set d_model=128 --set steps=5000 (see the model card)")
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
            elif args.zoo_command == "measure":
                print(f"re-measured {zoo.measure(args.name)}")
            else:
                changes = dict(args.changes) | ({"seed": args.seed} if args.seed is not None else {})
                options = Options(mixed_precision=args.mixed_precision, grad_accum=args.grad_accum,
                                  max_steps=args.max_steps, save_every=args.save_every, resume=args.resume)
                target = zoo.train(args.name, args.smoke, args.output, args.force, changes, options)
                if process_state().is_main_process:
                    print(f"stopped after step {args.max_steps}; continue with the same command and --resume"
                          if target is None else f"trained into {target}")
            return 0
        path = runner.list_notebooks([args.notebook])[0]
        print(yaml.safe_dump(runner.notebook_parameters(path), sort_keys=False, allow_unicode=True), end="")
        return 0
    except (ValueError, FileNotFoundError, FileExistsError) as err:  # includes ModelUnavailableError
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
