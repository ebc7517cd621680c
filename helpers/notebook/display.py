"""Display: audio players and figures in one consistent style (axes in seconds, Hz and mel).

Used by every notebook. Figures are small PNGs (``use_style``) so that committed notebooks stay light.
"""
from __future__ import annotations

import inspect
import textwrap

import numpy as np

from ..core.audio import check_audio, check_sample_rate, resample

MAX_PLAYER_SECONDS = 30.0
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def use_style() -> None:
    """The project's matplotlib style (compact figures, 80 dpi, no chart junk) and compact inline PNGs.

    Called in each notebook's setup cell. Inline figures are saved as 128-colour palette PNGs: indistinguishable
    from full colour for these plots and about three times smaller, which keeps committed notebooks light. Chinese
    text in figures (tokens, transcripts) falls back to Noto Sans CJK SC (:func:`cjk_font`).
    """
    import matplotlib.pyplot as plt
    from IPython import get_ipython
    from matplotlib.figure import Figure

    plt.rcParams.update({
        "figure.figsize": (9, 3), "figure.dpi": 80, "savefig.dpi": 80, "figure.autolayout": True,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 10, "image.cmap": "magma", "font.family": ["DejaVu Sans", cjk_font()],
    })
    shell = get_ipython()
    if shell is not None:
        import matplotlib_inline.backend_inline  # noqa: F401  registers its PNG formatter on import: ours goes after

        shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def cjk_font() -> str:
    """Registers Noto Sans CJK SC (SIL OFL), which the pinned ``mplfonts`` wheel carries, with matplotlib and returns
    its family name: figures render Chinese without system fonts, never as empty boxes."""
    from matplotlib import font_manager

    from ..core.packages import packaged_file

    path = packaged_file("mplfonts", "0.0.11", "mplfonts/fonts/NotoSansCJKsc-Regular.otf")
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def compact_png(fig, colors: int = 128) -> str:
    """A figure as a base64 PNG with an adaptive ``colors``-colour palette (the inline format of the notebooks)."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def play(y, sr: int, normalize: bool = True, max_seconds: float = MAX_PLAYER_SECONDS, lossless: bool = False):
    """An audio player for a mono clip, embedded in the notebook as MP3 (about 7 kB per second of speech).

    MP3 keeps committed notebooks small: a WAV player (``lossless=True``) is 6–10 times larger. MP3 exists only
    at 8–48 kHz, so other rates are resampled for the player alone. ``normalize=True`` scales the peak to 0.9;
    ``normalize=False`` plays the true level (needs |y| ≤ 1). Clips longer than ``max_seconds`` (default 30 s)
    are refused: they would bloat the notebook.
    """
    import base64
    import io

    import soundfile as sf
    from IPython.display import HTML

    sr = check_sample_rate(sr)
    y = check_audio(y, sr=sr, max_seconds=max_seconds, allow_silent=True)
    peak = float(np.abs(y).max())
    if normalize and peak > 0:
        y = y * (0.9 / peak)
    elif peak > 1:
        raise ValueError(f"audio peaks at {peak:.2f}, beyond full scale (|y| > 1); pass normalize=True or scale it down")
    if not lossless and sr not in MP3_RATES:
        target = min((r for r in MP3_RATES if r >= sr), default=max(MP3_RATES))
        y, sr = resample(y, sr, target), target
    buffer = io.BytesIO()
    if lossless:
        sf.write(buffer, y, sr, format="WAV", subtype="PCM_16")
    else:
        sf.write(buffer, np.clip(y, -1, 1), sr, format="MP3")
    mime = "audio/wav" if lossless else "audio/mpeg"
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return HTML(f'<audio controls preload="none" src="data:{mime};base64,{data}"></audio>')


def plot_waveform(y, sr: int, ax=None, title: str = ""):
    """Waveform against time in seconds."""
    import matplotlib.pyplot as plt

    y = check_audio(y, sr=sr, allow_silent=True)
    ax = ax or plt.gca()
    ax.plot(np.arange(len(y)) / sr, y, lw=0.6)
    ax.set(xlabel="time (s)", ylabel="amplitude", xlim=(0, len(y) / sr), title=title)
    return ax


def plot_spectrogram(S_db, sr: int, hop_length: int, ax=None, y_axis: str = "hz", title: str = "",
                     fmax: float | None = None, colorbar: bool = True):
    """A dB spectrogram (``(freq, frames)``) with time in seconds and frequency in Hz/log/mel/quefrency.

    ``y_axis`` is ``"hz"`` (linear), ``"log"``, ``"mel"`` (give ``fmax``) or ``"coef"`` (MFCC index).
    """
    import librosa.display
    import matplotlib.pyplot as plt

    kind = {"hz": "linear", "log": "log", "mel": "mel", "coef": None}
    if y_axis not in kind:
        raise ValueError(f"y_axis {y_axis!r} must be one of {list(kind)}")
    if np.ndim(S_db) != 2:
        raise ValueError(f"plot_spectrogram draws a (frequency, frames) array, got shape {np.shape(S_db)}; "
                         "for a waveform use plot_waveform, or compute H.log_mel(y, sr) first")
    ax = ax or plt.gca()
    extra = {"fmax": fmax} if y_axis == "mel" and fmax else {}
    img = librosa.display.specshow(np.asarray(S_db), sr=sr, hop_length=hop_length, x_axis="s",
                                   y_axis=kind[y_axis], ax=ax, **extra)
    ax.set(title=title, xlabel="time (s)")
    ax.grid(False)
    if y_axis == "coef":
        ax.set_ylabel("coefficient")
    if colorbar:
        plt.colorbar(img, ax=ax, format="%+.0f dB" if y_axis != "coef" else "%+.0f", pad=0.01)
    return img


def show_wave_spec(y, sr: int, title: str = "", n_fft: int = 512, hop_length: int = 128, y_axis: str = "hz"):
    """Waveform above its dB spectrogram, sharing the time axis. Returns the figure."""
    import librosa
    import matplotlib.pyplot as plt

    y = check_audio(y, sr=check_sample_rate(sr))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.2), sharex=True, height_ratios=(1, 2))
    plot_waveform(y, sr, ax=top, title=title)
    top.set_xlabel("")
    S_db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)), ref=np.max)
    plot_spectrogram(S_db, sr, hop_length, ax=bottom, y_axis=y_axis)
    plt.show()
    return fig


def _displayable(item):
    """A matplotlib figure becomes a compact PNG image (and is closed); anything else displays as itself."""
    from matplotlib.figure import Figure

    if isinstance(item, Figure):
        import base64

        import matplotlib.pyplot as plt
        from IPython.display import Image

        png = base64.b64decode(compact_png(item))
        plt.close(item)
        return Image(data=png, format="png")
    return item


def explorer(view, **controls):
    """An interactive explorer: shows the ``controls`` (ipywidgets), then what ``view(**values)`` returns — a
    figure, a player, or a tuple of them — and re-renders those outputs in place whenever a control changes.

    Used by 01. It updates plain outputs through display ids rather than capturing them in an ``Output`` widget
    as ``ipywidgets.interact`` does: headless executors mimic Output widgets by syncing their contents back to
    the kernel, and with figures and audio inside, that sync deadlocks papermill (nbclient 0.11 with
    ipywidgets 8.1). Executed headless, the explorer simply shows its first view.
    """
    import ipywidgets
    from IPython.display import Markdown, display

    if not controls:
        raise ValueError("explorer needs at least one control, e.g. bits=ipywidgets.IntSlider(...)")

    def render():
        items = view(**{name: control.value for name, control in controls.items()})
        return [_displayable(item) for item in (items if isinstance(items, (tuple, list)) else (items,))]

    display(ipywidgets.HBox(list(controls.values()), layout=ipywidgets.Layout(flex_flow="row wrap")))
    handles = [display(item, display_id=True) for item in render()]

    def update(_change):
        try:
            items = render()
        except ValueError as err:  # a combination the helpers refuse (e.g. too many mels): say so in place
            items = [Markdown(f"**{err}**")] + [Markdown("")] * (len(handles) - 1)  # blank, not a printed ''
        for handle, item in zip(handles, items):
            handle.update(item)

    for control in controls.values():
        control.observe(update, names="value")


def show_source(obj) -> None:
    """Shows the source of a helper as highlighted code, so a lesson can read what it then runs."""
    from IPython.display import Markdown, display

    module = inspect.getmodule(obj).__name__
    source = textwrap.dedent(inspect.getsource(obj)).rstrip()  # a method's source without its class's indent
    display(Markdown(f"`{module}.{obj.__qualname__}`:\n```python\n{source}\n```"))
