"""Model resolution: one ``model_id`` parameter selects a miniature, a local directory or a hub checkpoint.

The rules of DESIGN.md, used by every notebook that loads a model (04 onwards) and by ``make models``:

- a miniature name such as ``"tiny"`` → built by the notebook's builder with a fixed seed, saved with
  ``save_pretrained`` into the local cache (keyed by a hash of the builder's code), and returned as a directory
  that ``from_pretrained`` loads, exactly as it loads a real checkpoint;
- an existing local directory → returned as is;
- a hub id (``"openai/whisper-small"``) → the cached snapshot, downloaded first when online. Offline and not
  cached → :class:`ModelUnavailableError` at once, naming the remedy. Never a silent fallback to a miniature.
"""
from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path
from typing import Callable

from .core.cache import build_once, cache_dir

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
SKIP_FILES = ["*.msgpack", "*.h5", "*.ot", "*.onnx", "*.tflite", "tf_model*", "flax_model*", "*.mlmodel"]


class ModelUnavailableError(ValueError):
    """A hub checkpoint that is neither cached nor downloadable now."""


def is_offline() -> bool:
    """True when huggingface_hub was told not to use the network (``HF_HUB_OFFLINE=1``)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _remedy(model_id: str) -> str:
    return (f"run `make models PROFILE=pretrained` (or `hf download {model_id}`) on a machine with "
            f"internet to cache it, pass a local directory, or use model_id='tiny' for the offline miniature")


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


def resolve_model(model_id: str, miniatures: dict[str, Callable[..., None]] | None = None, **options) -> str:
    """Returns what to pass to ``from_pretrained`` for ``model_id`` (see the module docstring for the rules).

    ``miniatures`` maps the notebook's miniature names (e.g. ``{"tiny": whisper.build_miniature}``) to builders;
    ``options`` are passed to the builder (and distinguish cached miniatures).
    """
    miniatures = miniatures or {}
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f"model_id must be a non-empty string, got {model_id!r}")
    if model_id in miniatures:
        return str(build_miniature(model_id, miniatures[model_id], **options))
    path = Path(model_id).expanduser()
    if path.is_dir():
        return str(path)
    if HUB_ID.fullmatch(model_id) and not path.exists():
        return str(download(model_id))
    choices = ", ".join(repr(name) for name in miniatures) or "none here"
    raise ValueError(f"unknown model_id {model_id!r}: not a miniature ({choices}), not an existing directory, "
                     "and not a hub id like 'openai/whisper-small'")
