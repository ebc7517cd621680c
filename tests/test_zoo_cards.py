"""The released zoo: every model loads with from_pretrained, fits the size limits, has a complete card (data spec,
recipe command, steps, time, device, commit, held-out metrics), and its card's check metrics are re-measured here on
the same small held-out subset and held to the card; every recipe also runs at seconds scale (``--smoke``)."""
import importlib

import pytest

import helpers as H

MODELS = H.zoo.zoo_models()
MEGABYTE = 2 ** 20


def test_every_recipe_has_a_released_model_and_the_zoo_fits():
    assert set(H.zoo.RECIPES) <= set(MODELS)
    total = sum(f.stat().st_size for f in H.zoo.ZOO.rglob("*") if f.is_file())
    assert total <= 60 * MEGABYTE


@pytest.mark.parametrize("name", MODELS)
def test_the_card_is_complete_and_the_model_small(name):
    folder = H.zoo.ZOO / name
    card = H.zoo.read_card(folder)
    assert sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) <= 10 * MEGABYTE
    training = card["training"]
    assert training["recipe_command"] == f"python -m helpers zoo train {name}"
    assert {"recipe", "commit", "steps", "seconds", "device"} <= set(training)
    assert "-dirty" not in training["commit"] and "smoke-test" not in card["tags"]
    assert card["data"] and card["model-index"][0]["results"][0]["metrics"]


@pytest.mark.parametrize("name", MODELS)
def test_the_cards_check_metrics_are_re_measured(name):
    module = importlib.import_module(H.zoo.RECIPES[name])
    card = H.zoo.read_card(H.zoo.ZOO / name)
    measured = module.check(H.zoo.ZOO / name, module.Recipe(**card["training"]["recipe"]))
    for metric, value in card["check"]["metrics"].items():
        # long-form decoding runs openai-whisper's temperature fallback, which samples when whisper-mini's timestamped
        # windows fall under its log-probability threshold: another draw, another text (measured 1.46 to 2.58 on the
        # check clip); held to that spread, the other metrics to two points
        tolerance = dict(abs=1.5) if metric == "longform_wer" else dict(abs=0.02)
        assert measured[metric] == pytest.approx(value, **tolerance), metric


@pytest.mark.parametrize("name", sorted(set(H.zoo.RECIPES) - {"whisper-mini"}))  # whisper-mini's: test_zoo_training
def test_each_recipe_runs_at_seconds_scale_and_writes_its_card(name, tmp_path):
    folder = H.zoo.train(name, smoke=True, output=tmp_path / name)
    card = H.zoo.read_card(folder)
    assert card["training"]["recipe_command"] == f"python -m helpers zoo train {name} --smoke"
    assert "smoke-test" in card["tags"] and card["check"]["metrics"]
    weights, config = {"funasr": ("model.pt", "config.yaml"),
                       "diffusers": ("unet/diffusion_pytorch_model.safetensors", "model_index.json")}.get(
        card["library_name"], ("model.safetensors", "config.json"))
    assert (folder / weights).exists() and (folder / config).exists()
