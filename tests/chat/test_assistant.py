from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.chat.conftest import Desk
from toutiao.chat import assistant as chat
from toutiao.chat.assistant import (
    ArticleHit,
    Assistant,
    Intent,
    classify,
    keywords,
    runtime_search,
)
from toutiao.kit.db import Database
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime

DAY = datetime(2024, 5, 1, 8, 0)


def at(days: int) -> datetime:
    return DAY + timedelta(days=days)


class TestClassify:
    @pytest.mark.parametrize(
        ("message", "intent"),
        [
            ("你好", Intent.GREETING),
            ("您好！", Intent.GREETING),
            ("Hello", Intent.GREETING),
            ("hi ~", Intent.GREETING),
            ("在吗？", Intent.GREETING),
            ("你好啊小助手", Intent.GREETING),
            ("帮助", Intent.HELP),
            ("help", Intent.HELP),
            ("你能做什么？", Intent.HELP),
            ("您都会些什么", Intent.HELP),
            ("你是谁", Intent.HELP),
            ("？", Intent.HELP),
            ("谢谢", Intent.THANKS),
            ("好的，谢谢你！", Intent.THANKS),
            ("Thanks", Intent.THANKS),
            ("再见", Intent.BYE),
            ("bye", Intent.BYE),
            ("", Intent.EMPTY),
            ("  \n\t ", Intent.EMPTY),
            ("x" * 501, Intent.TOO_LONG),
            ("足球", Intent.NEWS),
            ("history", Intent.NEWS),  # starts with "hi" but is not a greeting
            ("有没有关于人工智能的新闻", Intent.NEWS),
        ],
    )
    def test_intent(self, message: str, intent: Intent) -> None:
        assert classify(message)[0] is intent

    def test_greeting_before_a_question_is_dropped(self) -> None:
        assert classify("你好，有没有关于足球的新闻？") == (Intent.NEWS, "有没有关于足球的新闻")

    def test_five_hundred_characters_are_still_a_question(self) -> None:
        assert classify("足" * 500)[0] is Intent.NEWS


class TestKeywords:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("有没有关于人工智能的新闻", ["人工智能"]),
            ("帮我找一下华为手机的文章", ["华为", "手机"]),
            ("我想看足球", ["足球"]),
            ("有没有关于猫的新闻", ["猫"]),  # one character: below jieba's word filter
            ("今天有什么新闻", []),
            ("history of Rome", ["history", "rome"]),
        ],
    )
    def test_fillers_are_not_keywords(self, query: str, expected: list[str]) -> None:
        assert keywords(query) == expected

    def test_at_most_eight(self) -> None:
        query = " ".join(f"word{i}" for i in range(12))
        assert len(keywords(query)) == chat.MAX_KEYWORDS


class TestCanned:
    @pytest.mark.parametrize(
        ("message", "reply"),
        [
            ("你好", chat.GREETING),
            ("你能做什么", chat.HELP),
            ("谢谢", chat.THANKS),
            ("拜拜", chat.BYE),
            ("", chat.EMPTY),
            ("新" * 501, chat.TOO_LONG),
            ("？？？", chat.HELP),
            ("哈哈", chat.UNCLEAR),
        ],
    )
    async def test_reply(self, assistant: Assistant, message: str, reply: str) -> None:
        assert await assistant.answer(message) == reply

    def test_replies_are_chinese_and_helpful(self) -> None:
        assert "帮助" in chat.GREETING
        assert "文章标题和编号" in chat.HELP
        assert "500" in chat.TOO_LONG


class TestNewsQuestions:
    async def test_best_three_titles_with_ids(self, assistant: Assistant, desk: Desk) -> None:
        both = await desk.article("人工智能改变足球训练", pubdate=at(0))
        newest = await desk.article("人工智能芯片发布", pubdate=at(3))
        older = await desk.article("人工智能与医疗", pubdate=at(1))
        await desk.article("人工智能进入课堂", pubdate=at(-5))  # fourth: left out
        await desk.article("今日股市收盘", pubdate=at(4))

        reply = await assistant.answer("有没有关于人工智能和足球的新闻？")

        assert reply == (
            "为您找到以下相关文章：\n"
            f"1. 《人工智能改变足球训练》（文章编号：{both}）\n"
            f"2. 《人工智能芯片发布》（文章编号：{newest}）\n"
            f"3. 《人工智能与医疗》（文章编号：{older}）"
        )

    async def test_only_approved_articles(self, assistant: Assistant, desk: Desk) -> None:
        for status in (ArticleStatus.DRAFT, ArticleStatus.PENDING, ArticleStatus.BANNED):
            await desk.article(f"火星探测器{status.name}", status=status)
        await desk.article("火星探测器DELETED", status=ArticleStatus.DELETED)
        approved = await desk.article("火星探测器着陆")

        reply = await assistant.answer("火星探测器")

        assert f"（文章编号：{approved}）" in reply
        assert reply.count("《") == 1

    async def test_nothing_found_suggests_other_words(
        self, assistant: Assistant, desk: Desk
    ) -> None:
        await desk.article("人工智能芯片发布")
        reply = await assistant.answer("量子计算有什么新闻")
        assert reply.startswith("抱歉，没有找到与“量子、计算”相关的文章")
        assert "试试" in reply

    async def test_part_of_a_compound_word_matches(self, assistant: Assistant, desk: Desk) -> None:
        article_id = await desk.article("世界杯足球预选赛今晚开战")
        reply = await assistant.answer("足球比赛")  # jieba keeps "足球比赛" as one word
        assert f"（文章编号：{article_id}）" in reply

    async def test_single_character_topic(self, assistant: Assistant, desk: Desk) -> None:
        article_id = await desk.article("猫咪为什么喜欢纸箱")
        assert f"{article_id}" in await assistant.answer("有没有关于猫的文章")

    async def test_like_wildcards_are_literal(self, assistant: Assistant, desk: Desk) -> None:
        await desk.article("普通的科技新闻")
        hundred = await desk.article("降价100%的秘密")
        reply = await assistant.answer("100%")
        assert f"{hundred}" in reply
        assert reply.count("《") == 1
        assert (await assistant.answer("_%")) == chat.UNCLEAR

    async def test_english_is_case_insensitive(self, assistant: Assistant, desk: Desk) -> None:
        article_id = await desk.article("Python 3.13 发布")
        assert f"{article_id}" in await assistant.answer("python")

    async def test_news_without_a_topic_gets_the_latest(
        self, assistant: Assistant, desk: Desk
    ) -> None:
        ids = [await desk.article(f"第{i}条", pubdate=at(i)) for i in range(5)]
        await desk.article("草稿", status=ArticleStatus.DRAFT, pubdate=at(9))
        reply = await assistant.answer("今天有什么新闻？")
        assert reply.startswith("这是最新发布的文章：")
        assert [f"{i}" in reply for i in ids] == [False, False, True, True, True]

    async def test_no_articles_at_all(self, assistant: Assistant, runtime: Runtime) -> None:
        assert "还没有已发布的文章" in await assistant.answer("最新新闻")

    async def test_deterministic(self, assistant: Assistant, desk: Desk) -> None:
        for i in range(4):
            await desk.article(f"新能源汽车销量第{i}周", pubdate=at(0))
        first = await assistant.answer("新能源汽车")
        assert first.count("《") == 3
        assert [await assistant.answer("新能源汽车") for _ in range(3)] == [first] * 3


class TestSearchEngine:
    async def test_engine_results_are_used(self, runtime: Runtime, desk: Desk) -> None:
        first = await desk.article("引擎排第一")
        second = await desk.article("引擎排第二")
        asked: list[tuple[str, int]] = []

        async def engine(query: str, n: int) -> list[int]:
            asked.append((query, n))
            return [first, second]

        reply = await Assistant(runtime.db, search=engine).answer("有没有关于人工智能芯片的新闻")
        assert asked == [("人工智能 芯片", 3)]
        assert reply == (
            "为您找到以下相关文章：\n"
            f"1. 《引擎排第一》（文章编号：{first}）\n"
            f"2. 《引擎排第二》（文章编号：{second}）"
        )

    async def test_stale_engine_hits_are_dropped(self, runtime: Runtime, desk: Desk) -> None:
        banned = await desk.article("已封禁", status=ArticleStatus.BANNED)
        kept = await desk.article("仍然可读")
        other = await desk.article("也可读")

        async def engine(query: str, n: int) -> list[int]:
            return [banned, 12345, other, kept, other]

        hits = await Assistant(runtime.db).approved_titles(await engine("", 3))
        assert hits == [ArticleHit(other, "也可读"), ArticleHit(kept, "仍然可读")]
        reply = await Assistant(runtime.db, search=engine).answer("可读")
        assert f"{banned}" not in reply and reply.index(f"{other}") < reply.index(f"{kept}")

    async def test_runtime_engine_adapter(self, runtime: Runtime, desk: Desk) -> None:
        article_id = await desk.article("引擎里的文章")
        calls: list[tuple[str, int, int]] = []

        class Engine:
            async def search(self, query: str, *, offset: int, limit: int) -> SimpleNamespace:
                calls.append((query, offset, limit))
                return SimpleNamespace(total=1, ids=[article_id])

        with_engine = SimpleNamespace(db=runtime.db, search=Engine())
        assert runtime_search(SimpleNamespace(search=None)) is None
        reply = await Assistant.from_runtime(with_engine).answer("量子纠缠")
        assert calls == [("量子 纠缠", 0, 6)]
        assert f"{article_id}" in reply

    async def test_database_when_the_engine_fails(self, runtime: Runtime, desk: Desk) -> None:
        async def broken(query: str, n: int) -> list[int]:
            raise ConnectionError("search engine down")

        article_id = await desk.article("芯片产能回升")
        reply = await Assistant(runtime.db, search=broken).answer("芯片")
        assert f"{article_id}" in reply

    async def test_database_when_the_engine_finds_nothing(
        self, runtime: Runtime, desk: Desk
    ) -> None:
        async def lagging(query: str, n: int) -> list[int]:
            return []  # e.g. an article approved a moment ago, not indexed yet

        article_id = await desk.article("芯片产能回升")
        assert f"{article_id}" in await Assistant(runtime.db, search=lagging).answer("芯片")

    async def test_database_down_too(self, tmp_path: object) -> None:
        db = Database.from_urls(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
        try:
            broken = Assistant(db)
            assert await broken.answer("芯片") == chat.SEARCH_DOWN
            assert await broken.answer("最新新闻") == chat.SEARCH_DOWN
            assert await broken.answer("你好") == chat.GREETING
        finally:
            await db.dispose()


class TestWithTheEmbeddedEngine:
    async def test_body_matches_come_from_the_index(
        self, runtime: Runtime, desk: Desk, tmp_path: Path
    ) -> None:
        from toutiao.engines.search import SearchDoc
        from toutiao.engines.search.tantivy_engine import TantivySearch

        article_id = await desk.article("本周科技速览", content="<p>量子计算机取得新突破</p>")
        engine = TantivySearch(tmp_path)
        try:
            await engine.index(
                [
                    SearchDoc(
                        article_id=article_id,
                        title="本周科技速览",
                        content="量子计算机取得新突破",
                        author_id=desk.author_id,
                        author_name="作者",
                        channel_id=desk.channel_id,
                        channel_name="科技",
                        pubdate=DAY,
                    )
                ]
            )
            found = SimpleNamespace(db=runtime.db, search=engine)
            reply = await Assistant.from_runtime(found).answer("量子计算机有什么新闻")
            assert reply == f"为您找到以下相关文章：\n1. 《本周科技速览》（文章编号：{article_id}）"
            # The title-only fallback would not have found it.
            assert await Assistant(runtime.db).search_titles(["量子计算机"]) == []
        finally:
            await engine.close()
