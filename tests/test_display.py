"""helpers.notebook.display: compact players and figures, the explorer, and their bad inputs."""
import base64
import io
import re

import matplotlib
import numpy as np
import pytest
import soundfile as sf

import helpers as H

matplotlib.use("Agg")


def decode(player):
    mime, data = re.search(r'src="data:(audio/[a-z]+);base64,([^"]+)"', player.data).groups()
    return mime, sf.read(io.BytesIO(base64.b64decode(data)))


def test_play_embeds_small_mp3_at_the_true_level():
    y = H.tone(440, 2.0, 16000, amplitude=0.3)
    mime, (decoded, sr) = decode(H.play(y, 16000, normalize=False))
    assert mime == "audio/mpeg" and sr == 16000
    assert len(base64.b64decode(re.search(r"base64,([^\"]+)", H.play(y, 16000).data).group(1))) < 40_000
    assert np.abs(decoded).max() == pytest.approx(0.3, rel=0.1)


def test_play_resamples_rates_mp3_lacks_and_can_be_lossless():
    y = H.tone(440, 0.5, 96000)
    assert decode(H.play(y, 96000))[1][1] == 48000
    mime, (decoded, sr) = decode(H.play(y, 96000, lossless=True))
    assert mime == "audio/wav" and sr == 96000


@pytest.mark.parametrize("call, message", [
    (lambda: H.play(np.ones(16000 * 40) * 0.1, 16000), "more than the 30 s"),
    (lambda: H.play(np.ones(100) * 2, 16000, normalize=False), "beyond full scale"),
    (lambda: H.play(np.ones((2, 100)), 16000), "must be mono"),
    (lambda: H.plot_spectrogram(np.zeros((10, 10)), 16000, 160, y_axis="bark"), "y_axis 'bark'"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_figures_and_compact_png():
    import matplotlib.pyplot as plt

    fig = H.show_wave_spec(H.tone(440, 0.5, 16000), 16000, title="t")
    png = base64.b64decode(H.notebook.display.compact_png(fig))
    assert png.startswith(b"\x89PNG") and len(png) < 60_000
    plt.close("all")


def test_explorer_shows_the_first_view_and_updates_in_place(monkeypatch):
    import ipywidgets

    shown, updated = [], []

    class Handle:
        def update(self, obj):
            updated.append(obj)

    def fake_display(obj, display_id=False):
        shown.append(obj)
        return Handle() if display_id else None

    monkeypatch.setattr("IPython.display.display", fake_display)
    slider = ipywidgets.IntSlider(value=2, min=1, max=5)
    H.explorer(lambda n: f"n={n}", n=slider)
    assert shown[1:] == ["n=2"]
    slider.value = 4
    assert updated == ["n=4"]
    with pytest.raises(ValueError, match="at least one control"):
        H.explorer(lambda: None)


def test_chinese_text_in_figures_renders_with_the_cjk_font():
    import warnings

    import matplotlib.pyplot as plt

    H.use_style()
    fig, ax = plt.subplots()
    ax.set_title("打开空调 · turn on the air conditioner")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for every box it draws
        H.notebook.display.compact_png(fig)
    plt.close(fig)
