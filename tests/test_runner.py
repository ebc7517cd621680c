"""helpers.notebook.runner: profiles and parameters validated before anything runs; runs, failures, refresh, CLI."""
import re
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
    result = runner.run_notebook(nb, tmp_path / "out" / "04_fail.ipynb")
    assert not result.ok
    assert "cell 2" in result.error and "ValueError: bad sample rate 7" in result.error
    assert "FAILED 04_fail: cell 2" in runner.summary_table([result])


def test_strip_volatile_metadata(folder, tmp_path):
    result = runner.run_notebook(folder / "01_toy.ipynb", tmp_path / "out" / "01_toy.ipynb", {"seed": 1})
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


def test_parameters_must_have_the_type_of_their_defaults(folder):
    make_notebook(folder / "05_typed.ipynb", parameters="bits = [16, 8]\nrate = 16000\ngain = 1.0\npath = ''\nsnr = None")
    nb = folder / "05_typed.ipynb"
    runner.check_parameters(nb, {"bits": [4], "rate": 8000, "gain": 2, "path": "a.wav", "snr": 10})  # all fine
    for bad, message in [({"bits": 16}, "05_typed: bits=16 must be a list like its default [16, 8]"),
                         ({"bits": [16, "8"]}, "bits=[16, '8']: item '8' must be an int like those of its default"),
                         ({"rate": 16000.0}, "rate=16000.0 must be an int like its default 16000"),
                         ({"gain": "loud"}, "gain='loud' must be a number like its default 1.0"),
                         ({"path": 3}, "path=3 must be a string like its default ''")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            runner.check_parameters(nb, bad)


def test_outputs_never_overwrite_a_notebook_or_land_on_a_file(folder, tmp_path):
    with pytest.raises(ValueError, match="the output .* is the notebook itself"):
        runner.run_notebook(folder / "01_toy.ipynb", folder / "01_toy.ipynb")
    before = (runner.NOTEBOOKS / "01_signal_basics.ipynb").read_bytes()
    done = cli("run", "--nb", "01", "--out", "notebooks", "--no-html")
    assert done.returncode == 2 and "would overwrite the committed 01_signal_basics.ipynb" in done.stderr
    done = cli("run", "--nb", "01", "--out", "README.md", "--no-html")
    assert done.returncode == 2 and "--out README.md is a file; give a folder" in done.stderr
    done = cli("run", "--nb", "01", "-p", "bit_depths=16", "--no-html")
    assert done.returncode == 2 and "bit_depths=16 must be a list like its default" in done.stderr
    assert (runner.NOTEBOOKS / "01_signal_basics.ipynb").read_bytes() == before


def test_nb_may_be_repeated(monkeypatch):
    from helpers.__main__ import main

    chosen = []
    monkeypatch.setattr(runner, "run_profile", lambda profile, selection, *args, **kwargs: chosen.append(selection) or [])
    assert main(["run", "--nb", "01", "--nb", "03", "05"]) == 0
    assert chosen == [["01", "03", "05"]]


def test_exported_html_needs_no_network(tmp_path):
    """The workshop handout: no script, stylesheet or module from another host; formulas rendered as MathML; a
    widget replaced by a note; a progress bar stored as its final line."""
    from html.parser import HTMLParser

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("pass")
    code.outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"bar {i}%\r") for i in range(0, 100, 5)]
    code.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="bar 100%\n"))
    code.outputs.append(nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "HBox(children=(Dropdown(...),))"}))
    nb.cells = [nbformat.v4.new_markdown_cell("Aliasing: $f_a = |f - k f_s|$ and\n\n$$X_k = \\sum_n x_n e^{-2\\pi i kn/N}$$"
                                              "\n\nprice `$5` stays code"), code]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    path = tmp_path / "handout.ipynb"
    nbformat.write(nb, str(path))
    for page in (runner.export_html(path), runner.export_html(_copy(runner.NOTEBOOKS / "01_signal_basics.ipynb",
                                                                    tmp_path))):
        external = []

        class Links(HTMLParser):
            def handle_starttag(self, tag, attrs):
                attrs = dict(attrs)
                if tag == "script" and attrs.get("src") or tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
                    external.append(attrs.get("src") or attrs.get("href"))

            def handle_data(self, data):
                if re.search(r"(import|src\s*=|Src\s*=).{0,40}['\"]https?://", data):
                    external.append(data.strip()[:80])

        text = page.read_text(encoding="utf-8")
        Links().feed(text)
        assert external == [], external
        assert "cdnjs" not in text and "unpkg" not in text and "ALMMATH" not in text
    text = (tmp_path / "handout.html").read_text(encoding="utf-8")
    assert text.count("<math") == 2 and 'display="block"' in text and "<code>$5</code>" in text
    assert "bar 100%" in text and "bar 95%" not in text
    assert "Interactive controls stand here in JupyterLab" in text and "HBox(children" not in text


def _copy(notebook, folder):
    target = folder / notebook.name
    target.write_bytes(notebook.read_bytes())
    return target
