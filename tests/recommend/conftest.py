from __future__ import annotations

import pytest

from tests.recommend.helpers import RecoData
from toutiao.kit import text
from toutiao.recommend.engine import Recommender
from toutiao.runtime import Runtime


@pytest.fixture(scope="session", autouse=True)
def jieba_cache(data_dir: object) -> None:
    text.configure(f"{data_dir}/jieba")


@pytest.fixture
def data(runtime: Runtime) -> RecoData:
    return RecoData(runtime)


@pytest.fixture
def recommender(runtime: Runtime) -> Recommender:
    return Recommender(runtime.db, runtime.store, recent_ttl=0)
