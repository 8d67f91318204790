from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.factories import Factory
from toutiao.chat.assistant import Assistant
from toutiao.kit import text
from toutiao.runtime import Runtime


@pytest.fixture(scope="session", autouse=True)
def jieba_cache(data_dir: object) -> None:
    text.configure(f"{data_dir}/jieba")


@dataclass
class Desk:
    """An author and a channel to publish test articles in."""

    factory: Factory
    author_id: int
    channel_id: int

    async def article(self, title: str, **columns: Any) -> int:
        return await self.factory.article(self.author_id, self.channel_id, title=title, **columns)


@pytest.fixture
async def desk(factory: Factory) -> Desk:
    author = await factory.user()
    (channel,) = await factory.channels(["科技"])
    return Desk(factory, author.user_id, channel.channel_id)


@pytest.fixture
def assistant(runtime: Runtime) -> Assistant:
    return Assistant(runtime.db)
