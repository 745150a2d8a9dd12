"""One real dask.distributed LocalCluster (two worker processes) for every scale test that
needs one: started on first use, shut down at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def client() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")
    # ":0", not None: None still binds 8787 and warns when it is taken (dask/distributed#8136)
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
        silence_logs=40,
    )
    with cluster, distributed.Client(cluster) as c:
        yield c
