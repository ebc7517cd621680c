"""The sound classifier that judges 08's generated clips, and the Fréchet distance in its embedding space."""
import numpy as np
import pytest

from helpers.data import sounds
from helpers.families.audioldm import classifier as C


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALM_CACHE", str(tmp_path_factory.mktemp("cache")))
        return sounds.make_sounds(n_train=160, n_test=40, kinds=("beep", "noise", "drums"), hold_out=False)


def test_a_short_training_tells_the_kinds_apart_and_reloads(corpus, tmp_path):
    model, losses = C.train(corpus.train, steps=80, batch_size=16)
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    audio = [c.audio for c in corpus.test]
    scores = C.accuracy(model, audio, corpus.test)
    assert scores["kind"] >= 0.9 and set(scores) == {"kind", *C.HEADS}
    model.save_pretrained(tmp_path / "classifier")
    again = C.predict(C.load(tmp_path / "classifier"), audio)
    np.testing.assert_allclose(again["embedding"], C.predict(model, audio)["embedding"], atol=1e-5)
    with pytest.raises(ValueError, match="fewer than one batch"):
        C.train(corpus.train[:4], steps=3)


def test_the_frechet_distance_is_zero_for_one_set_and_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 3))
    a = (a - a.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(a, rowvar=False))).T  # sample covariance = I
    assert C.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    scale, shift = np.array([1.0, 2.0, 0.5]), np.array([1.0, 0.0, -2.0])
    # covariances I and diag(scale²): the distance is ‖shift‖² + Σ(1 − scale)²
    expected = np.sum(shift ** 2) + np.sum((1 - scale) ** 2)
    assert C.frechet_distance(a, a * scale + shift) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="same width"):
        C.frechet_distance(a, a[:, :2])
