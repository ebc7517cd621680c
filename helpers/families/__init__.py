"""One module (or package) per model family: its builder, zoo recipe and evaluation side by side."""
from pathlib import Path


def released(name: str) -> Path:
    """The folder of zoo model ``name`` (a judge, a vocoder, a recogniser that another family's recipe uses)."""
    from ..zoo import ZOO  # the release folder: the zoo module is the layer above, imported only here

    return ZOO / name
