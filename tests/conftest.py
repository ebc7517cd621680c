"""Test configuration: offline kernels, and nbval's cells of one notebook kept together on one xdist worker."""
import os

import pytest

from helpers.runner import kernel_settings

# Kernels (papermill and nbval) inherit this environment; huggingface_hub reads it at import time.
os.environ.update(kernel_settings(offline=True))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """nbval runs a notebook cell by cell in one kernel, so all its items must go to the same worker, in order."""
    for item in items:
        if item.nodeid.split("::")[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=item.nodeid.split("::")[0]))
