"""helpers.notebook.runner: profiles and parameters validated before anything runs; runs, failures, refresh, CLI."""
import subprocess
import sys
import textwrap

import nbformat
import pytest

from helpers.notebook import runner


def make_notebook(path, parameters="seed = 0\nscale = 2.0", body="import helpers as H\nH.record('out', seed * scale)"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# toy"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def folder(tmp_path):
    make_notebook(tmp_path / "01_toy.ipynb")
    make_notebook(tmp_path / "02_other.ipynb", parameters="n = 1")
    return tmp_path


def test_list_and_select_notebooks(folder):
    assert [p.stem for p in runner.list_notebooks(directory=folder)] == ["01_toy", "02_other"]
    assert runner.list_notebooks(["01"], folder)[0].stem == "01_toy"
    with pytest.raises(ValueError, match=r"no notebook '07'; choose from \['01_toy', '02_other'\]"):
        runner.list_notebooks(["07"], folder)


def test_parameters_are_read_from_the_tagged_cell(folder):
    assert runner.notebook_parameters(folder / "01_toy.ipynb") == {"seed": 0, "scale": 2.0}


def test_unknown_parameter_is_rejected_listing_the_valid_ones(folder):
    with pytest.raises(ValueError, match=r"01_toy has no parameter 'n_fft'; its parameters are: seed, scale"):
        runner.check_parameters(folder / "01_toy.ipynb", {"n_fft": 512})


def write_profiles(folder, text):
    path = folder / "profiles.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_profile_naming_a_missing_notebook_is_rejected(folder):
    path = write_profiles(folder, "smoke:\n  notebooks:\n    09_ghost: {seed: 1}\n")
    with pytest.raises(ValueError, match="profile 'smoke' names notebook '09_ghost', which does not exist"):
        runner.load_profile("smoke", path, folder)


def test_profile_setting_an_unknown_parameter_is_rejected(folder):
    path = write_profiles(folder, "smoke:\n  notebooks:\n    02_other: {seed: 1}\n")
    with pytest.raises(ValueError, match="02_other has no parameter 'seed'; its parameters are: n"):
        runner.load_profile("smoke", path, folder)


def test_unknown_profile_and_defaults(folder):
    path = write_profiles(folder, "smoke:\n  notebooks:\n    01_toy: {seed: 3}\npretrained:\n  offline: false\n")
    assert runner.load_profile("default", path, folder).overrides == {}
    smoke = runner.load_profile("smoke", path, folder)
    assert smoke.offline and smoke.parameters_for(folder / "01_toy.ipynb") == {"seed": 3}
    assert not runner.load_profile("pretrained", path, folder).offline
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; profiles: \['default', 'pretrained', 'smoke'\]"):
        runner.load_profile("fast", path, folder)


def test_the_real_profiles_are_valid():
    for name in ("default", "smoke", "pretrained"):
        runner.load_profile(name)


def test_run_records_parameters_environment_and_html(folder, tmp_path):
    nb = make_notebook(folder / "03_env.ipynb", body=textwrap.dedent("""\
        import os, helpers as H
        from huggingface_hub import constants
        H.record('out', seed * scale)
        H.record('offline', bool(constants.HF_HUB_OFFLINE))"""))
    result = runner.run_notebook(nb, tmp_path / "out" / "03_env.ipynb", {"seed": 2}, html=True)
    assert result.ok, result.error
    assert result.records == {"out": 4.0, "offline": True}
    assert result.html.exists() and "<html" in result.html.read_text()


def test_a_failing_notebook_names_its_cell(folder, tmp_path):
    nb = make_notebook(folder / "04_fail.ipynb", body="raise ValueError('bad sample rate 7')")
    result = runner.run_notebook(nb, tmp_path / "04_fail.ipynb")
    assert not result.ok
    assert "cell 2" in result.error and "ValueError: bad sample rate 7" in result.error
    assert "FAILED 04_fail: cell 2" in runner.summary_table([result])


def test_strip_volatile_metadata(folder, tmp_path):
    result = runner.run_notebook(folder / "01_toy.ipynb", tmp_path / "01_toy.ipynb", {"seed": 1})
    nb = nbformat.read(str(result.output), as_version=4)
    assert "papermill" in nb.metadata and any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    runner.strip_volatile(nb)
    assert "papermill" not in nb.metadata
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert not any("papermill" in c.metadata or "execution" in c.metadata for c in nb.cells)


def test_hub_ids_of_a_profile():
    profile = runner.Profile("p", overrides={"05_x": {"model_id": "openai/whisper-small", "seed": 1},
                                             "06_y": {"asr_model_id": "org/m", "model_id": "tiny"}})
    assert runner.hub_ids(profile) == ["openai/whisper-small", "org/m"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True, timeout=120)


def test_cli_rejects_bad_requests_before_running():
    done = cli("run", "--nb", "99", "--no-html")
    assert done.returncode == 2 and "no notebook '99'" in done.stderr
    done = cli("run", "--nb", "01", "-p", "no_such_param=1", "--no-html")
    assert done.returncode == 2 and "01_signal_basics has no parameter 'no_such_param'" in done.stderr
    done = cli("run", "--profile", "nightly")
    assert done.returncode == 2 and "unknown profile 'nightly'" in done.stderr


def test_cli_params_lists_a_notebooks_defaults():
    done = cli("params", "01")
    assert done.returncode == 0 and "sample_rate: 16000" in done.stdout


def test_cli_models_fails_fast_offline():
    done = subprocess.run([sys.executable, "-m", "helpers", "models", "--profile", "smoke"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "names no hub checkpoints" in done.stderr


def test_test_workers_share_the_cores_between_their_kernels():
    """conftest.py: kernels started by one xdist worker get its share of the cores, not all of them (CI ran the
    notebooks 10x slower when every worker's kernels inherited the controller's thread count)."""
    import os
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    threads = int(os.environ["OMP_NUM_THREADS"])
    assert threads * workers <= max(workers, len(os.sched_getaffinity(0)))
