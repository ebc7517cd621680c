"""Hugging Face libraries, quietly: transformers 5.23 and diffusers 0.42.1 log warnings that a notebook cannot act on
(a head initialised afresh, a deprecated pipeline class) and draw progress bars when they load or save a model.
Used by the families that load such models (AudioLDM, hifigan-mini)."""
from __future__ import annotations

import contextlib
import importlib


@contextlib.contextmanager
def quiet_hub(*libraries: str):
    """While inside: the named libraries (``"transformers"`` always, ``"diffusers"`` when asked) log errors only and
    draw no progress bars; as before afterwards (a bar left off stays off: ``HF_HUB_DISABLE_PROGRESS_BARS``
    forbids switching it on)."""
    modules = [importlib.import_module(f"{name}.utils.logging") for name in ("transformers", *libraries)]
    before = [(module.get_verbosity(), module.is_progress_bar_enabled()) for module in modules]
    for module in modules:
        module.set_verbosity_error()
        module.disable_progress_bar()
    try:
        yield
    finally:
        for module, (verbosity, bars) in zip(modules, before):
            module.set_verbosity(verbosity)
            if bars:
                module.enable_progress_bar()
