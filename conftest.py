"""pytest configuration for the whole suite (tests/ and the nbval run of notebooks/): offline kernels, and the
cores shared between xdist workers. (`make test` runs `--dist loadfile`, which keeps each notebook's nbval cells,
and each tests/test_nbNN file, whole on one worker.)"""
import os

from helpers.notebook.runner import kernel_settings

# Kernels (papermill and nbval) inherit this environment; huggingface_hub reads it at import time.
os.environ.update(kernel_settings(offline=True))

# Each pytest-xdist worker runs its own kernels: share the cores between workers instead of letting every kernel
# start one OpenMP thread per core (oversubscribed, torch's spinning threads make training ~10x slower). Workers
# inherit the controller's environment, so a worker overrides what the controller (one process, all cores) set.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_threads = str(max(1, len(os.sched_getaffinity(0)) // _workers))
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    if "PYTEST_XDIST_WORKER" in os.environ:
        os.environ[_name] = _threads
    else:
        os.environ.setdefault(_name, _threads)
