"""Zoo recipes beyond one process and one sitting (helpers.core.engine, ``zoo train``): data-parallel under
``accelerate launch``, a run killed by a real signal and resumed to the same weights, the run options and their
refusals. The recipe is whisper-mini's at seconds scale (``--smoke``), with a longer last stage where a run must be
caught in the middle."""
import json
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

import helpers as H
from helpers.__main__ import main
from helpers.core.engine import Options, saved_states

TRAIN = [sys.executable, "-m", "helpers", "zoo", "train", "whisper-mini", "--smoke"]
LONGER = ["--set", "steps=30"]  # 2 + 2 + 30 steps: a few seconds of training to interrupt
TOTAL = 34


def train(*args, launcher=()):
    command = [*launcher, *TRAIN[1:]] if launcher else TRAIN  # a launcher starts the interpreter itself
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def losses(folder):
    """The logged losses, step by step, without the wall-clock seconds."""
    lines = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k != "seconds"} for line in lines]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One process, uninterrupted, the longer recipe."""
    folder = tmp_path_factory.mktemp("reference") / "model"
    train(*LONGER, "--output", str(folder))
    return folder


def test_two_processes_make_the_optimiser_steps_of_one(tmp_path, reference):
    with socket.socket() as free:  # a free port for the processes' rendezvous
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    # accelerate 1.15's --cpu launcher starts one process whatever --num_processes says: --multi_gpu (torchrun)
    # starts two, and helpers.core.engine puts them on the CPU (gloo) where there is no GPU
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
              str(port)]
    if H.zoo.read_card(reference)["training"]["device"] != "cpu":
        pytest.skip("the reference ran on a GPU")
    folder = tmp_path / "model"
    done = train(*LONGER, "--output", str(folder), launcher=launch)
    assert done.stdout.count("trained into") == 1  # printed by the main process only
    card = H.zoo.read_card(folder)
    assert card["training"]["processes"] == 2 and card["training"]["steps"] == H.zoo.read_card(reference)[
        "training"]["steps"]
    one, two = losses(reference), losses(folder)
    # every optimiser step logged once (only the main process writes), at the same global batch
    assert [line["step"] for line in two] == [line["step"] for line in one] == list(range(TOTAL))
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in reference.iterdir())
    for a, b in zip(one, two):
        # the crops' CTC losses are the same batches' (each item carries its own random draws); the decoder's
        # cross-entropy and attention supervision are means over each process's tokens, which the mean over the
        # processes weights differently from one process's mean over all tokens: close, not equal
        assert b["ctc"] == pytest.approx(a["ctc"], rel=0.01), a["step"]
        if "ce" in a:
            assert b["ce"] == pytest.approx(a["ce"], rel=0.01) and b["guide"] == pytest.approx(a["guide"], rel=0.2)


def test_a_killed_run_resumes_to_the_same_weights_and_never_damages_the_release(tmp_path, reference):
    folder = tmp_path / "model"
    shutil.copytree(reference, folder)  # a release to protect
    released = {p.name: p.read_bytes() for p in folder.iterdir()}
    command = [*TRAIN, *LONGER, "--output", str(folder), "--force", "--save-every", "3"]
    states = tmp_path / "model.training" / "state"
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while run.poll() is None and time.monotonic() < deadline:
        if any(int(s.name[5:]) >= 9 for s in saved_states(states)):
            break
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)  # the harshest stop: no handler runs, a state may be half written
    assert run.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert 9 <= int(saved_states(states)[-1].name[5:]) < TOTAL
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == released  # the release is untouched
    with pytest.raises(ValueError, match="has another recipe"):  # resuming asks for the same recipe
        H.zoo.train("whisper-mini", smoke=True, output=folder, options=Options(resume=True))
    # a second sitting that stops at step 20 (--max-steps), and a third that finishes
    done = train(*LONGER, "--output", str(folder), "--resume", "--max-steps", "20")
    assert "stopped after step 20; continue with the same command and --resume" in done.stdout
    assert [s.name for s in saved_states(states)] == ["step-0000020"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == released
    train(*LONGER, "--output", str(folder), "--resume")
    # random generators, optimiser, schedule and data position restored: bit for bit the uninterrupted weights
    assert (folder / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
    assert losses(folder) == losses(reference)
    card = H.zoo.read_card(folder)
    assert card["training"]["recipe_command"] == "python -m helpers zoo train whisper-mini --smoke --set steps=30"
    assert not (tmp_path / "model.training").exists() and not (folder / "state").exists()


def test_accumulation_and_bf16_make_the_same_steps(tmp_path, reference):
    folder = tmp_path / "model"
    train(*LONGER, "--output", str(folder), "--grad-accum", "2", "--mixed-precision", "bf16")
    training = H.zoo.read_card(folder)["training"]
    assert training["grad_accum"] == 2 and training["mixed_precision"] == "bf16"
    assert training["recipe_command"].endswith("--smoke --set steps=30 --mixed-precision bf16 --grad-accum 2")
    for a, b in zip(losses(reference), losses(folder), strict=True):  # bf16 rounding; tokens per micro-batch
        assert a["step"] == b["step"] and b["ctc"] == pytest.approx(a["ctc"], rel=0.02), a["step"]
        if "ce" in a:
            assert b["ce"] == pytest.approx(a["ce"], rel=0.02), a["step"]


def test_an_interrupted_run_is_neither_discarded_nor_resumed_by_mistake(tmp_path):
    folder = tmp_path / "model"
    with pytest.raises(ValueError, match="nothing to resume"):
        H.zoo.train("whisper-mini", output=folder, options=Options(resume=True))
    (tmp_path / "model.training" / "state" / "step-0000120").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"holds an interrupted run \(step-0000120\): pass --resume"):
        H.zoo.train("whisper-mini", output=folder)
    (tmp_path / "model.training" / "state" / "step-0000130.partial").mkdir()  # killed while saving: not a state
    assert [s.name for s in saved_states(tmp_path / "model.training" / "state")] == ["step-0000120"]


@pytest.mark.parametrize("args, message", [
    (["--grad-accum", "0"], "--grad-accum: expected a whole number ≥ 1, got '0'"),
    (["--max-steps", "two"], "--max-steps: expected a whole number ≥ 1, got 'two'"),
    (["--mixed-precision", "fp8"], "--mixed-precision: invalid choice: 'fp8'"),
    (["--set", "d_model=wide"], "recipe field d_model='wide' must be an int like its default 32"),
    (["--set", "dmodel=128"], "unknown recipe fields ['dmodel']"),
    (["--set", "heads=3"], "d_model 32 must be a multiple of heads 3"),
])
def test_bad_options_are_refused_with_the_fix(args, message, tmp_path, capsys):
    try:
        code = main(["zoo", "train", "whisper-mini", "--smoke", "--output", str(tmp_path / "m"), *args])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    assert code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--grad-accum", "4"], "its batch of 2 cannot be split into 4 micro-batch(es) × 1 process(es)"),
    (["--mixed-precision", "fp16"], "'fp16' needs a GPU"),
])
def test_options_the_engine_refuses(args, message, tmp_path):
    if "fp16" in args and not H.pick_device().startswith("cpu"):
        pytest.skip("fp16 runs on a GPU")
    done = subprocess.run([*TRAIN, "--output", str(tmp_path / "m"), *args], capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())  # nothing written: not the model, not the side folder


def test_the_cpu_launcher_asked_for_two_processes_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
                           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", *TRAIN[1:],
                           "--output", str(tmp_path / "m")], capture_output=True, text=True)
    assert done.returncode != 0 and "start them with `accelerate launch --multi_gpu --num_processes N`" in done.stderr
    assert not list(tmp_path.iterdir())
