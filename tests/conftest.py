import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Every profile: no deadline (first calls import JAX/torch and vary widely).
# The default is deterministic: a newcomer's `make test` is CI's run, draw for
# draw.  Random exploration is `make test-thorough`; a failure it finds is
# pinned as an explicit example (@example) or a test of its own.
settings.register_profile(
    "ci", deadline=None, derandomize=True, max_examples=60, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Thorough: random draws, kept in .hypothesis/examples so a failure found once is
# replayed first on the next run, and printed with its reproduction blob.
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, print_blob=True, database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test-thorough)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _numpy_errors_raise():
    # Overflow or invalid values anywhere in a test are bugs, not warnings.
    with np.errstate(all="raise", under="ignore"):
        yield
