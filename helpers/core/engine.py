"""The training engine of the zoo's recipes (``python -m helpers zoo train``, and 05's live lesson): Hugging Face
``accelerate`` runs a recipe's stages in one process or many (``accelerate launch``), with mixed precision and
gradient accumulation, saves the whole training state every ``save_every`` steps, and resumes from the last one.

A recipe hands :func:`fit` a model whose ``forward(**batch, stage=name)`` returns ``(loss, parts)`` (``parts``: named
scalars to log), an optimiser, a scheduler stepped once per optimiser step, and its :class:`Stage` s. A stage's
``batch_size`` is the **global** batch of one optimiser step: processes and accumulation divide it
(``split_batches``), so the same recipe makes the same optimiser steps on two laptop cores or eight GPUs.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .runtime import progress

PRECISIONS = ("no", "bf16", "fp16")


class RecipeFields:
    """What every zoo recipe (a frozen dataclass) inherits: ``replace`` with changed fields, refusing unknown names
    (``--set FIELD=VALUE``) with the list of the known ones."""

    def replace(self, **changes):
        fields = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise ValueError(f"unknown recipe fields {unknown}; the fields are {fields}")
        return dataclasses.replace(self, **changes)


def from_pretrained(cls, directory):
    """``cls.from_pretrained(directory)`` for a zoo model built on huggingface_hub's ``PyTorchModelHubMixin``
    (enhancer-mini, ctc-mini): huggingface_hub 2.4.0's mixin prints "Loading weights from local directory" with a bare
    ``print`` on every local load, which would land in every notebook that loads one; silenced here."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return cls.from_pretrained(directory)


@dataclass(frozen=True)
class Options:
    """How a recipe is run (not what it learns: the recipe's fields say that).

    - ``mixed_precision``: ``"no"`` (float32), ``"bf16"`` (autocast to bfloat16: CPUs and recent GPUs) or ``"fp16"``
      (float16 with loss scaling: GPUs only, refused on the CPU); None: as ``accelerate launch --mixed_precision`` says (default no);
    - ``grad_accum``: compute each optimiser step's batch in this many micro-batches (less memory, the same step);
    - ``max_steps``: stop after this optimiser step of the whole recipe (saving the state, for ``resume``); None: run
      to the end;
    - ``save_every``: save the whole state every this many optimiser steps (None: never);
    - ``resume``: continue from the last saved state.
    """

    mixed_precision: str | None = None
    grad_accum: int = 1
    max_steps: int | None = None
    save_every: int | None = None
    resume: bool = False

    def __post_init__(self):
        if self.mixed_precision is not None and self.mixed_precision not in PRECISIONS:
            raise ValueError(f"mixed_precision {self.mixed_precision!r} must be one of {PRECISIONS}")
        for name in ("grad_accum", "max_steps", "save_every"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")


@dataclass(frozen=True)
class Stage:
    """``steps`` optimiser steps on batches of ``batch_size`` items of ``dataset`` (map-style, read in order: item
    ``i`` must not depend on what was read before it, so that a resumed run reads the same batches)."""

    name: str
    dataset: object
    steps: int
    batch_size: int


class Progress:
    """How far a run has come — the step, the logged losses and the seconds spent — saved with the state."""

    def __init__(self):
        self.step, self.history, self.seconds = 0, [], 0.0

    def state_dict(self) -> dict:
        return {"step": self.step, "history": self.history, "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.history, self.seconds = state["step"], state["history"], state["seconds"]


def process_state():
    """accelerate's state of this process: the only one, or one of those ``accelerate launch`` started. Processes
    that ``accelerate launch --multi_gpu`` (torchrun) starts on a machine without a GPU, or with
    ``ACCELERATE_USE_CPU=1``, train data-parallel on the CPU (gloo): accelerate 1.15 makes CPU processes a group only
    when told they are on the CPU, and its ``--cpu`` launcher starts one process whatever ``--num_processes`` says."""
    import os

    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    launched = int(os.environ.get("LOCAL_RANK", -1)) != -1
    sizes = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
    if parse_flag_from_env("ACCELERATE_USE_CPU") and "MASTER_ADDR" in os.environ and not any(map(os.environ.get, sizes)):
        raise ValueError("`accelerate launch --cpu` was asked for several processes but started one (accelerate 1.15 "
                         "needs mpirun for that); start them with `accelerate launch --multi_gpu --num_processes N` "
                         "instead: on a machine without a GPU they train on the CPU")
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or (launched and not torch.cuda.is_available()))


def check_device(options: Options) -> None:
    """Refuses what this process's device cannot run, before a recipe builds anything: fp16 on the CPU, which
    accelerate 1.15 trains in float32 without saying so (measured)."""
    import os

    precision = options.mixed_precision or os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    if precision == "fp16" and process_state().device.type == "cpu":
        raise ValueError("mixed_precision 'fp16' needs a GPU (on the CPU accelerate would train in float32 "
                         "without saying so); use 'bf16' on the CPU")


def saved_states(folder) -> list[Path]:
    """The complete saved states in ``folder`` (``step-NNNNNNN``), oldest first."""
    folder = Path(folder)
    return sorted(p for p in folder.glob("step-*") if p.is_dir() and not p.name.endswith(".partial"))


def _save(accelerator, folder: Path, step: int) -> None:
    """Saves the state after ``step`` steps: written under a ``.partial`` name and renamed when complete, so that a
    run killed while saving leaves the previous state usable; older states are then removed."""
    final, partial = folder / f"step-{step:07d}", folder / f"step-{step:07d}.partial"
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        for old in saved_states(folder)[:-1]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def _truncated_log(log_path, step: int):
    """The log opened for appending, without the lines of steps after ``step`` (logged before a stop, redone now)."""
    log_path = Path(log_path)
    lines = log_path.read_text().splitlines() if log_path.exists() else []
    kept = [line for line in lines if json.loads(line)["step"] < step]
    log_path.write_text("".join(line + "\n" for line in kept))
    return open(log_path, "a")


def fit(model, optimizer, scheduler, stages: list[Stage], collate: Callable, options: Options = Options(),
        state_dir=None, log_path=None, desc: str = "training", clip: float = 1.0) -> dict:
    """Trains ``model`` through ``stages`` and returns what a model card reports: ``finished`` (False when
    ``max_steps`` stopped it early), ``step``, ``steps`` (stage → steps), ``seconds`` (all sittings), ``device``,
    ``processes``, ``mixed_precision``, ``grad_accum``, ``final_losses`` (mean of the last 50 logged steps) and
    ``model`` (the trained module, unwrapped). Gradients are clipped to norm ``clip``. States go to ``state_dir``
    (needed for ``save_every``, ``max_steps`` and ``resume``); ``log_path`` gets a JSON line of the global batch's
    losses every 10 steps (every step in runs of up to 100), written by the main process only."""
    import torch
    from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs

    if (options.save_every or options.max_steps or options.resume) and state_dir is None:
        raise ValueError("save_every, max_steps and resume need a state_dir to keep the training state in")
    check_device(options)
    accelerator = Accelerator(mixed_precision=options.mixed_precision, gradient_accumulation_steps=options.grad_accum,
                              dataloader_config=DataLoaderConfiguration(split_batches=True),
                              # a recipe's stages may train parts of the model (whisper-mini's first one: the encoder)
                              kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    share = options.grad_accum * accelerator.num_processes
    for stage in stages:
        if stage.batch_size % share:
            raise ValueError(f"stage {stage.name!r}: its batch of {stage.batch_size} cannot be split into "
                             f"{options.grad_accum} micro-batch(es) × {accelerator.num_processes} process(es); "
                             f"choose a grad_accum and a number of processes whose product divides it")
        if len(stage.dataset) < stage.steps * stage.batch_size:
            raise ValueError(f"stage {stage.name!r} needs {stage.steps * stage.batch_size} items, its dataset has "
                             f"{len(stage.dataset)}")
    # each loader draws its iterator's seed from a generator of its own: from the global one (torch 2.13 does so even
    # without workers) it would shift the model's random draws by one wherever a resumed run restarts a stage
    loaders = [torch.utils.data.DataLoader(stage.dataset, batch_size=stage.batch_size // options.grad_accum,
                                           collate_fn=collate, generator=torch.Generator().manual_seed(0))
               for stage in stages]
    model, optimizer, scheduler, *loaders = accelerator.prepare(model, optimizer, scheduler, *loaders)
    done = Progress()
    accelerator.register_for_checkpointing(done)
    state_dir = Path(state_dir) if state_dir else None
    if options.resume:
        states = saved_states(state_dir)
        if not states:
            raise ValueError(f"nothing to resume: no saved state in {state_dir}; start the run without resume")
        accelerator.load_state(str(states[-1]))
    total = sum(stage.steps for stage in stages)
    stop = min(total, options.max_steps or total)
    log_every = 10 if total > 100 else 1

    def micro_batches():
        skip = done.step
        for stage, loader in zip(stages, loaders):
            if skip >= stage.steps:
                skip -= stage.steps
                continue
            if skip:
                loader = accelerator.skip_first_batches(loader, skip * options.grad_accum)
                skip = 0
            for batch in loader:
                yield stage.name, batch

    model.train()
    log = None
    if log_path and accelerator.is_main_process:
        log = _truncated_log(log_path, done.step) if options.resume else open(log_path, "w")
    started, spent = time.perf_counter(), done.seconds
    stream = micro_batches()
    bar = progress(range(done.step, stop), total=total, initial=done.step, desc=desc,
                   disable=not accelerator.is_main_process)
    for step in bar:
        sums = {}
        for _ in range(options.grad_accum):
            name, batch = next(stream)
            with accelerator.accumulate(model):
                loss, parts = model(**batch, stage=name)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + value.float() / options.grad_accum
        keys = sorted(sums)  # the global batch's losses: the mean over processes
        values = accelerator.reduce(torch.stack([sums[k] for k in keys]), "mean").tolist()
        done.history.append(dict(zip(keys, values)))
        done.step = step + 1
        done.seconds = spent + time.perf_counter() - started
        if step % log_every == 0 or done.step == total:
            recent = {k: round(float(np.mean([h[k] for h in done.history[-log_every:] if k in h])), 4)
                      for k in done.history[-1]}
            bar.set_postfix(recent, refresh=False)
            if log:
                log.write(json.dumps({"step": step, **recent, "seconds": round(done.seconds, 1)}) + "\n")
                log.flush()
        if state_dir and done.step < total and (done.step == stop or (options.save_every
                                                                       and done.step % options.save_every == 0)):
            _save(accelerator, state_dir, done.step)
    bar.close()
    if log:
        log.close()
    accelerator.wait_for_everyone()
    last = done.history[-50:]
    return {"finished": done.step == total, "step": done.step,
            "steps": {stage.name: stage.steps for stage in stages}, "seconds": round(done.seconds),
            "device": str(accelerator.device), "processes": accelerator.num_processes,
            "mixed_precision": str(accelerator.mixed_precision), "grad_accum": options.grad_accum,
            "final_losses": {k: round(float(np.mean([h[k] for h in last if k in h])), 4) for k in last[-1]},
            "model": accelerator.unwrap_model(model)}
