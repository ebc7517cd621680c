"""The sound classifier that judges 08's generated clips, and the Fréchet distance in its embedding space."""
import numpy as np
import pytest

from helpers.families.audioldm import classifier as C


def test_a_short_training_tells_the_kinds_apart_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path / "cache"))
    recipe = C.Recipe(n_train=200, n_test=40, steps=250, batch_size=16)
    info = C.train(recipe, tmp_path / "classifier")
    assert info["finished"]
    scores = C.evaluate(tmp_path / "classifier", C.corpus(recipe).test)
    assert scores["kind"] >= 0.8 and set(scores) == {"kind", *C.HEADS}  # chance: 1/8
    model, clips = C.load(tmp_path / "classifier"), C.corpus(recipe).test[:4]
    predicted = C.predict(model, [c.audio for c in clips])
    assert predicted["embedding"].shape == (4, recipe.embedding) and len(predicted["sound"]) == 4


def test_the_frechet_distance_is_zero_for_one_set_and_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 3))
    a = (a - a.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(a, rowvar=False))).T  # sample covariance = I
    assert C.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    scale, shift = np.array([1.0, 2.0, 0.5]), np.array([1.0, 0.0, -2.0])
    # covariances I and diag(scale²): the distance is ‖shift‖² + Σ(1 − scale)²
    expected = np.sum(shift ** 2) + np.sum((1 - scale) ** 2)
    assert C.frechet_distance(a, a * scale + shift) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="same width"):
        C.frechet_distance(a, a[:, :2])
