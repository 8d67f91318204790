"""The embedded engine on a demo-like corpus: ranking, segmentation, completion, correction."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.search.helpers import BASE, corpus, doc
from toutiao.engines.search import MAX_WINDOW, SearchUnavailable, required_words
from toutiao.engines.search import tantivy_engine as te
from toutiao.engines.search.tantivy_engine import TantivySearch

DISTINCT = 1
SCATTERED = 2
BODY_ONLY = 3
NEAR_MISS = 4
# 在谷 (cut 在 / 谷 as a query, 在 / 谷歌 in titles): the title starting with it comes first,
# then the title holding it later, then titles with the characters apart, then bodies.
STARTS = 5
INSIDE = 6
APART = (7, 8)
IN_BODY = 9


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TantivySearch]:
    """600 demo articles plus a few written for the assertions below."""
    search = TantivySearch(tmp_path_factory.mktemp("corpus"))
    crafted = [
        doc(DISTINCT, "边缘计算网关的冷启动优化实录", "我们把冷启动时间从三秒降到了三百毫秒。"),
        doc(
            SCATTERED,
            "冷门话题合集",
            "第一段讲量子退火。"
            + "中间是与主题无关的文字，比如天气、交通和美食。" * 20
            + "最后一段讲拓扑绝缘体。",
        ),
        # The phrase's words, many times, but only in the body: must rank below DISTINCT.
        doc(BODY_ONLY, "周末杂谈", "边缘计算 网关 冷启动 优化。" * 6),
        doc(NEAR_MISS, "网关选型笔记", "边缘计算的话题以后再谈。"),
        doc(STARTS, "在谷歌做搜索排序的三年", "工作笔记。"),
        doc(INSIDE, "我在谷歌的日子", "回忆。"),
        doc(APART[0], "谷歌发布会在即：新品前瞻", "谷歌谷歌。"),
        doc(APART[1], "山谷里的秋天在等你", "山谷。"),
        doc(IN_BODY, "周末随笔", "在谷底的时候，在谷底也能看见星星。" * 3),
    ]
    for start in range(0, 600, 200):
        await search.index(corpus(600)[start : start + 200])
    await search.index(crafted)
    yield search
    await search.close()


async def titles(engine: TantivySearch, query: str, n: int = 10) -> list[str]:
    page = await engine.search(query, offset=0, limit=n)
    by_id = {d.article_id: d.title for d in corpus(600)}
    by_id.update({STARTS: "在谷歌做搜索排序的三年", INSIDE: "我在谷歌的日子"})
    return [by_id.get(i, str(i)) for i in page.ids]


class TestRelevance:
    async def test_distinctive_title_phrase_ranks_first(self, engine: TantivySearch) -> None:
        page = await engine.search("边缘计算网关冷启动优化", offset=0, limit=10)
        assert page.ids[0] == DISTINCT
        assert page.ids.index(DISTINCT) < page.ids.index(BODY_ONLY)

    async def test_corpus_phrase_in_title_ranks_first(self, engine: TantivySearch) -> None:
        for phrase in ("大模型推理优化", "Python 异步编程"):
            holders = sum(phrase.lower() in d.title.lower() for d in corpus(600))
            found = await titles(engine, phrase)
            assert 1 <= holders < len(found)
            # Every title holding the phrase comes before every other article.
            assert all(phrase.lower() in t.lower() for t in found[:holders]), found
            assert not any(phrase.lower() in t.lower() for t in found[holders:])

    async def test_a_short_query_inside_a_title_ranks_first(self, engine: TantivySearch) -> None:
        demo = [d.title for d in corpus(600)]
        starting = sum(t.startswith("在谷") for t in demo) + 1
        inside = sum("在谷" in t for t in demo) + 2
        found = await titles(engine, "在谷", 50)
        ids = (await engine.search("在谷", offset=0, limit=50)).ids
        assert all(t.startswith("在谷") for t in found[:starting]), found
        assert all("在谷" in t for t in found[:inside]), found
        assert not any("在谷" in t for t in found[inside:]), found
        assert STARTS in ids[:starting] and INSIDE in ids[starting:inside]
        assert APART[0] in ids[inside:]
        assert not {*APART, IN_BODY} & set(ids[:inside])

    @pytest.mark.parametrize("query", ["谷", "在谷歌", "谷歌的"])
    async def test_any_length_inside_a_title_ranks_first(
        self, engine: TantivySearch, query: str
    ) -> None:
        """One character (its own field), three (a phrase of two character pairs): titles
        starting with the query, then titles holding it, then the rest."""
        by_id = {d.article_id: d.title for d in corpus(600)}
        by_id.update(
            {
                STARTS: "在谷歌做搜索排序的三年",
                INSIDE: "我在谷歌的日子",
                APART[0]: "谷歌发布会在即：新品前瞻",
                APART[1]: "山谷里的秋天在等你",
            }
        )
        starting = sum(t.startswith(query) for t in by_id.values())
        inside = sum(query in t for t in by_id.values())
        page = await engine.search(query, offset=0, limit=50)
        found = [by_id.get(i, "") for i in page.ids]
        assert inside >= 1 and len(found) > inside
        assert all(t.startswith(query) for t in found[:starting]), found
        assert all(query in t for t in found[:inside]), found
        assert not any(query in t for t in found[inside:]), found

    def test_title_pairs_tokens(self) -> None:
        assert te._pair_tokens("在谷歌") == [("^在", 0, 0, 0), ("在谷", 1, 0, 0), ("谷歌", 2, 0, 0)]
        assert te._pair_tokens("《AI》") == [("^a", 0, 0, 0), ("ai", 1, 0, 0)]
        assert te._pair_tokens("谷") == [("^谷", 0, 0, 0)]
        assert te._pair_tokens("、") == []

    async def test_title_words_then_body_phrase_then_scattered(self, engine: TantivySearch) -> None:
        page = await engine.search("网关 边缘计算", offset=0, limit=10)
        # Only DISTINCT holds both words in its title; BODY_ONLY holds them as a body phrase.
        assert page.ids[0] == DISTINCT
        assert page.ids.index(BODY_ONLY) < page.ids.index(NEAR_MISS)

    async def test_words_far_apart_still_match(self, engine: TantivySearch) -> None:
        page = await engine.search("量子退火拓扑绝缘体", offset=0, limit=10)
        assert page.ids == [SCATTERED]

    async def test_query_segmented_like_documents(self, engine: TantivySearch) -> None:
        spaced = await engine.search("Python 异步编程", offset=0, limit=20)
        joined = await engine.search("python异步编程", offset=0, limit=20)
        wide = await engine.search("ＰＹＴＨＯＮ 异步编程", offset=0, limit=20)
        assert spaced.total > 0
        assert spaced == joined == wide

    async def test_part_of_a_long_word_matches(self, tmp_path: Path) -> None:
        search = TantivySearch(tmp_path)
        await search.index([doc(7, "中华人民共和国成立七十周年")])
        assert (await search.search("人民", offset=0, limit=5)).ids == [7]
        assert (await search.search("共和国", offset=0, limit=5)).ids == [7]
        await search.close()

    async def test_most_words_required_then_any(self, engine: TantivySearch) -> None:
        assert required_words(1) == 1
        assert required_words(2) == 2
        assert required_words(4) == 3
        # Two words: both needed; nothing has both, so documents with either come back.
        page = await engine.search("冷启动 不存在的词汇", offset=0, limit=10)
        assert DISTINCT in page.ids and page.relaxed
        assert not (await engine.search("冷启动 优化", offset=0, limit=10)).relaxed

    async def test_stop_words_alone_find_nothing(self, engine: TantivySearch) -> None:
        assert (await engine.search("的 了", offset=0, limit=10)).total == 0
        assert (await engine.search("！？", offset=0, limit=10)).total == 0

    async def test_excluded_authors_never_appear(self, tmp_path: Path) -> None:
        search = TantivySearch(tmp_path)
        other = dataclasses.replace(doc(3, "向量数据库实践"), author_id=7)
        await search.index([doc(1, "向量数据库选型"), doc(2, "向量数据库调优"), other])
        assert (await search.search("向量数据库", offset=0, limit=10)).total == 3
        for hidden, left in (({1}, [3]), ({1, 7}, []), ({7, 99}, [1, 2])):
            page = await search.search("向量数据库", offset=0, limit=10, exclude_authors=hidden)
            assert sorted(page.ids) == sorted(left) and page.total == len(left)
        await search.close()


class TestOrdering:
    async def test_newer_first_among_equal_scores(self, tmp_path: Path) -> None:
        search = TantivySearch(tmp_path)
        twins = [
            doc(100 + i, "同样的标题：向量数据库", pubdate=BASE + timedelta(hours=i))
            for i in range(25)
        ]
        await search.index(twins[::2])
        await search.index(twins[1::2])
        pages = [await search.search("向量数据库", offset=o, limit=10) for o in (0, 10, 20)]
        assert [p.total for p in pages] == [25, 25, 25]
        assert [i for p in pages for i in p.ids] == [100 + i for i in range(24, -1, -1)]
        await search.close()

    async def test_common_words_of_a_long_query_only_score(self, tmp_path: Path) -> None:
        """量子 and 退火 are rare, 常见 is in nearly every article: the two rare words are
        required (two of three words, as before); an article holding one rare word and the
        common one no longer matches, and the one holding all three comes first."""
        search = TantivySearch(tmp_path)
        filler = [doc(1000 + i, f"常见问题第{i}期", "常见的情况。") for i in range(120)]
        rare_only = doc(1, "量子退火入门", "量子退火是一种优化方法。")
        one_rare = doc(2, "量子通信的常见误区", "常见误区。")
        every = doc(3, "量子退火的常见问题", "量子退火，常见问题。")
        await search.index([*filler, rare_only, one_rare, every])
        page = await search.search("量子 退火 常见", offset=0, limit=10)
        assert page.ids[:2] == [3, 1] and page.total == 2, page
        # Two words are both required whatever their frequency.
        assert set((await search.search("量子 常见", offset=0, limit=10)).ids) == {2, 3}
        await search.close()

    async def test_paging_is_consistent(self, engine: TantivySearch) -> None:
        whole = await engine.search("优化", offset=0, limit=40)
        pages = [await engine.search("优化", offset=o, limit=10) for o in (0, 10, 20, 30)]
        assert [i for p in pages for i in p.ids] == whole.ids
        assert {p.total for p in pages} == {whole.total}

    async def test_past_the_window_no_ids_but_the_total(self, engine: TantivySearch) -> None:
        total = (await engine.search("优化", offset=0, limit=1)).total
        page = await engine.search("优化", offset=MAX_WINDOW, limit=10)
        assert page.ids == [] and page.total == total


class TestWrites:
    async def test_update_replaces_and_delete_removes(self, tmp_path: Path) -> None:
        search = TantivySearch(tmp_path)
        await search.index([doc(1, "旧标题：分布式锁")])
        await search.index([doc(1, "新标题：一致性哈希")])
        assert (await search.search("分布式锁", offset=0, limit=5)).ids == []
        assert (await search.search("一致性哈希", offset=0, limit=5)).ids == [1]
        await search.delete([1, 999])
        assert (await search.search("一致性哈希", offset=0, limit=5)).total == 0
        assert await search.suggest("新标题", limit=5) == []
        assert await search.count() == 0
        await search.close()

    async def test_purge_drops_what_was_written_before(self, tmp_path: Path) -> None:
        search = TantivySearch(tmp_path)
        await search.index([doc(1, "早先写入的文章")])
        cutoff = int(time.time() * 1000) + 1
        await asyncio.sleep(0.01)
        await search.index([doc(2, "之后写入的文章")])
        await search.purge(cutoff)
        assert (await search.search("文章", offset=0, limit=5)).ids == [2]
        await search.close()

    async def test_a_second_process_index_is_visible(self, tmp_path: Path) -> None:
        writer, reader = TantivySearch(tmp_path), TantivySearch(tmp_path)
        assert (await reader.search("消息队列", offset=0, limit=5)).total == 0
        await writer.index([doc(5, "消息队列选型")])
        reader._open().reload()
        assert (await reader.search("消息队列", offset=0, limit=5)).ids == [5]
        await writer.close()
        await reader.close()


class TestSuggest:
    async def test_titles_starting_with_the_prefix(self, engine: TantivySearch) -> None:
        options = await engine.suggest("python", limit=10)
        assert 0 < len(options) <= 10
        assert all(isinstance(o, str) for o in options)
        assert all(o.lower().startswith("python") for o in options)
        assert len(set(options)) == len(options)
        assert await engine.suggest("Py thon", limit=10) == options

    async def test_then_titles_with_a_word_starting_so(self, engine: TantivySearch) -> None:
        options = await engine.suggest("冷启", limit=10)
        assert "边缘计算网关的冷启动优化实录" in options
        assert await engine.suggest("网关选", limit=3) == ["网关选型笔记"]

    async def test_limit_and_nothing(self, engine: TantivySearch) -> None:
        assert len(await engine.suggest("大", limit=3)) == 3
        assert await engine.suggest("zzzz不存在", limit=10) == []
        assert await engine.suggest("   ", limit=10) == []


class TestCorrect:
    @pytest.mark.parametrize(
        ("typed", "fixed"),
        [
            ("pyhton", "python"),
            ("pyhton 异部编程", "python 异步编程"),
            ("大模形推理", "大模型推理"),
            ("大模型推里", "大模型推理"),
            ("分裤分表", "分库分表"),
        ],
    )
    async def test_typos_are_corrected(self, engine: TantivySearch, typed: str, fixed: str) -> None:
        assert await engine.correct(typed) == fixed

    async def test_nothing_to_correct(self, engine: TantivySearch) -> None:
        assert await engine.correct("python") is None
        assert await engine.correct("qqqqzzzz") is None

    def test_edit_distance(self) -> None:
        assert te.edit_distance("pyhton", "python") == 1  # a swap
        assert te.edit_distance("模形", "模型") == 1
        assert te.edit_distance("abc", "") == 3
        assert te.edit_distance("kitten", "sitting") == 3


class TestSegmentation:
    def test_sub_words_share_the_position_of_their_word(self) -> None:
        tokens = te.segment("中华人民共和国 成立")
        positions = {t: p for t, p, _, _ in tokens}
        assert positions["中华人民共和国"] == positions["人民"] == positions["共和国"] == 0
        assert positions["成立"] == 1

    def test_an_unfinished_last_word_stays_whole(self) -> None:
        assert te.completion_words("冷启") == ["冷启"]
        assert te.completion_words("Python 异") == ["python", "异"]
        assert te.completion_words("网关选") == ["网关", "选"]

    async def test_segmenting_in_processes_gives_the_same_index(self, tmp_path: Path) -> None:
        docs = corpus(24)
        threaded, pooled = TantivySearch(tmp_path / "a"), TantivySearch(tmp_path / "b")
        pooled.set_workers(2)
        try:
            await threaded.index(docs)
            await pooled.index(docs)
            for query in ("优化", "实战 原理", docs[3].title):
                assert await pooled.search(query, offset=0, limit=30) == await threaded.search(
                    query, offset=0, limit=30
                )
        finally:
            await threaded.close()
            await pooled.close()

    def test_queries_are_folded(self) -> None:
        assert te.query_words("ＰＹＴＨＯＮ的异步编程") == ["python", "异步", "编程"]
        assert te.title_key(" Python 异步 ") == "python异步"


class TestFailures:
    async def test_unusable_directory_is_unavailable(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        search = TantivySearch(blocker)
        with pytest.raises(SearchUnavailable):
            await search.search("任何", offset=0, limit=10)
        with pytest.raises(SearchUnavailable):
            await search.index([doc(1, "标题")])
        assert await search.ping() is False

    async def test_writer_held_elsewhere_times_out(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(te, "WRITER_WAIT", 0.2)
        search, other = TantivySearch(tmp_path), TantivySearch(tmp_path)
        assert await search.ping() is True
        held = other._open().writer(15_000_000, 1)
        with pytest.raises(SearchUnavailable):
            await search.index([doc(1, "标题")])
        held.wait_merging_threads()
        await search.index([doc(1, "标题")])
        assert await search.count() == 1


class TestWarmUp:
    async def test_start_up_loads_what_the_first_search_would(self, tmp_path: Path) -> None:
        from types import SimpleNamespace

        from toutiao.main import warm_search

        search = TantivySearch(tmp_path)
        await search.index([doc(1, "边缘计算网关")])
        await search.close()
        assert search._index is None and search._vocab is None
        await warm_search(SimpleNamespace(search=search))  # type: ignore[arg-type]
        assert search._index is not None and search._vocab is not None
        assert "网关" in search._vocab.freq
        await search.close()
