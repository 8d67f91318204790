"""A 3-master Redis Cluster per module, started from the ``redis-server`` binary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.redis_procs import REDIS_CLI, REDIS_SERVER, RedisFarm

if REDIS_SERVER is None or REDIS_CLI is None:
    pytest.skip("redis-server and redis-cli are needed", allow_module_level=True)


@pytest.fixture(scope="module")
def cluster_farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisFarm, list[int]]]:
    farm = RedisFarm(tmp_path_factory.mktemp("cluster"))
    try:
        yield farm, farm.cluster(masters=3)
    finally:
        farm.stop()
