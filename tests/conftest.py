import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# CI draws the same examples on every run (derandomize), so a landing never depends on the
# luck of the draw; the "dev" and "thorough" profiles keep exploring new examples.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def client() -> Iterator[object]:
    """One real dask.distributed LocalCluster of 2 worker processes for the whole run (the
    Dask tests in tests/scale and tests/cli share it; skipped without dask)."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    # ":0", not None: None still binds 8787 and warns when it is taken (dask/distributed#8136)
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
        silence_logs=40,
    )
    with cluster, distributed.Client(cluster) as c:
        yield c
