"""The chat assistant's logic: what a message means and what to answer, in Chinese.

No gRPC here. Answers are deterministic for a given message and article set: greetings,
help, thanks and goodbyes get canned replies; anything else is a news question, answered
with the best matching approved article titles (and ids) from the search engine, or from a
title ``LIKE`` query when the engine is absent, failing or finds nothing (the index may lag
behind the database).
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import or_, select

from toutiao.kit import text
from toutiao.kit.db import Database
from toutiao.models import Article
from toutiao.models.enums import ArticleStatus

log = logging.getLogger("toutiao.chat")

MAX_MESSAGE_CHARS = 500
MAX_RESULTS = 3
MAX_KEYWORDS = 8
MAX_TERMS = 16  # keywords plus their pieces, for the title fallback
# Newest title matches the fallback ranks; enough for three good ones, bounded for the DB.
FALLBACK_CANDIDATES = 200


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    title: str


# (query, n) -> up to n article ids, best first. Raises when the engine is down.
SearchFn = Callable[[str, int], Awaitable[list[int]]]


class Intent(Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    GREETING = "greeting"
    HELP = "help"
    THANKS = "thanks"
    BYE = "bye"
    NEWS = "news"


GREETING = (
    "您好！我是头条小助手，可以帮您找新闻。直接告诉我您关心的话题，"
    "比如“人工智能”或“有没有关于足球的新闻”。发送“帮助”可以查看我能做什么。"
)
HELP = (
    "我可以帮您：\n"
    "1. 按关键词找新闻：发送“人工智能”“新能源汽车”这样的词；\n"
    "2. 回答“有没有关于……的新闻”这类问题，给出最相关的文章标题和编号；\n"
    "3. 随时发送“帮助”再看这段说明。\n"
    f"关键词越具体，结果越准确；每条消息请不要超过 {MAX_MESSAGE_CHARS} 字。"
)
THANKS = "不客气！还想了解什么新闻，随时告诉我。"
BYE = "再见！欢迎随时回来看新闻。"
EMPTY = "您好像什么都没说。请输入想了解的新闻关键词，例如“科技”，或发送“帮助”。"
TOO_LONG = f"您的消息太长了（超过 {MAX_MESSAGE_CHARS} 字），请精简成几个关键词再试一次。"
UNCLEAR = "没太明白您的意思。请告诉我想了解的新闻关键词，例如“体育”，或发送“帮助”查看我能做什么。"
SEARCH_DOWN = "抱歉，新闻搜索暂时不可用，请稍后再试。"
RATE_LIMITED = "您发送得太快了，请稍等片刻再试。"

_EDGE_PUNCTUATION = " \t\r\n,，.。!！?？~～…、;；:：'\"“”‘’()（）[]【】<>《》-—_*#@"
_LATIN_GREETING = r"(?:hi|hello|hey|hallo|good (?:morning|afternoon|evening))\b"
_GREETING_PREFIX = re.compile(
    rf"^(?:(?:你好|您好|嗨|哈喽|哈啰|哈罗|早上好|上午好|中午好|下午好|晚上好|早安|晚安|在吗|在不在|有人吗|{_LATIN_GREETING})"
    r"[啊呀呢哇吖]?(?:小助手|助手|机器人)?[\s,，.。!！~～、]*)+",
    re.I,
)
_HELP = re.compile(
    r"^(?:帮助|求助|help|/help|菜单|功能|说明|使用说明|用法|怎么用|如何使用|怎么使用)$"
    r"|(?:你|您)(?:都|还)?(?:能|会|可以)(?:帮我)?(?:做|干)?(?:些|点)?(?:什么|啥)"
    r"|你是谁|您是谁|你是干什么的|你有什么用|what can you do|who are you",
    re.I,
)
_THANKS = re.compile(
    r"^(?:好的|好|嗯|ok|okay)?[\s,，]*(?:谢谢|多谢|感谢|谢啦|谢了|thanks|thank you|thx|3q)"
    r"(?:你|您|啦|了|小助手)?(?:的帮助)?$",
    re.I,
)
_BYE = re.compile(r"^(?:再见|拜拜|拜|回头见|下次见|bye|bye bye|goodbye|see you|886|88)$", re.I)

# Words that say "I want news about ..." rather than what the news is about.
_FILLERS = """
    有没有 有无 新闻 文章 资讯 消息 报道 内容 相关 有关 关于 看看 想看 想要 搜索 搜搜 搜一下
    查找 查查 查询 查一下 找找 帮忙 推荐 最新 最近 怎么样 怎样 情况 请问 谢谢 一下 哪些 哪个
    有什么 什么样 告诉 知道 了解 想知道 给我 帮我 一篇 几篇 一点 新鲜事 头条 今天 今日 昨天
    本周 这周 近期 哈哈 呵呵 嘿嘿 好吧
    news article articles about latest recent search find show please of in on at to is
    me want some any there
"""
FILLERS = frozenset(_FILLERS.split())
_SINGLE_STOPWORDS = "的了吗呢啊吧是在有和与及我你您他她它这那么嗯哦哈呀就也都还要看找搜想"
# A question about "the news" with no topic ("今天有什么新闻？") gets the latest articles.
_ANY_NEWS = re.compile(r"新闻|资讯|头条|文章|新鲜事|news", re.I)
_RUNS = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
_FILLER_RUN = re.compile(
    "|".join(sorted((re.escape(f) for f in FILLERS if not f.isascii()), key=len, reverse=True))
)


def normalize(message: str) -> str:
    """Full-width to half-width, collapsed spaces, no punctuation around the text."""
    folded = unicodedata.normalize("NFKC", message)
    return " ".join(folded.split()).strip(_EDGE_PUNCTUATION)


def classify(message: str) -> tuple[Intent, str]:
    """The intent of ``message`` and, for a news question, the text to search for."""
    if not message.strip():
        return Intent.EMPTY, ""
    if len(message.strip()) > MAX_MESSAGE_CHARS:
        return Intent.TOO_LONG, ""
    core = normalize(message)
    if not core:  # only punctuation, e.g. "？"
        return Intent.HELP, ""
    rest = normalize(_GREETING_PREFIX.sub("", core))
    if not rest:
        return Intent.GREETING, ""
    if _HELP.search(rest):
        return Intent.HELP, ""
    if _THANKS.match(rest):
        return Intent.THANKS, ""
    if _BYE.match(rest):
        return Intent.BYE, ""
    return Intent.NEWS, rest


def keywords(query: str) -> list[str]:
    """What to search for: jieba words minus fillers, else the short runs of the query.

    CPU-bound (jieba); call it in a worker thread.
    """
    found: list[str] = []
    for word in text.tokens(query):
        if word not in FILLERS and word not in found:
            found.append(word)
    if not found:  # jieba keeps words of two or more characters; "猫" is a topic too
        for run in _RUNS.findall(_FILLER_RUN.sub(" ", query)):
            word = run.lower().strip(_SINGLE_STOPWORDS)
            if not word or word in FILLERS or word in text.STOPWORDS or len(word) > 20:
                continue
            if word not in found:
                found.append(word)
    return found[:MAX_KEYWORDS]


def expand(words: list[str]) -> list[str]:
    """``words`` plus the dictionary words inside long ones ("足球比赛" -> "足球", "比赛"), so a
    substring match finds titles that use only part of a compound. CPU-bound (jieba)."""
    text.tokens("")  # loads jieba, quietly and with our cache directory, before we import it
    import jieba

    found = list(words)
    for word in words:
        if len(word) < 4 or word.isascii():
            continue
        for piece in jieba.dt.cut_for_search(word, HMM=False):
            piece = piece.lower()
            if len(piece) < 2 or piece in text.STOPWORDS or piece in FILLERS:
                continue
            if piece not in found:
                found.append(piece)
    return found[:MAX_TERMS]


def format_hits(hits: list[ArticleHit], *, heading: str = "为您找到以下相关文章：") -> str:
    lines = [f"{i}. 《{hit.title}》（文章编号：{hit.article_id}）" for i, hit in enumerate(hits, 1)]
    return heading + "\n" + "\n".join(lines)


def format_nothing(words: list[str]) -> str:
    shown = "、".join(words[:3])
    return (
        f"抱歉，没有找到与“{shown}”相关的文章。"
        "试试换个说法，或者用更简短、更常见的关键词，比如“科技”“体育”“财经”。"
    )


def rank_titles(rows: list[tuple[int, str]], words: list[str]) -> list[ArticleHit]:
    """Most matched keyword characters first; ``rows`` come newest first, which breaks ties."""
    scored = []
    for position, (article_id, title) in enumerate(rows):
        lowered = title.lower()
        score = sum(len(word) for word in words if word in lowered)
        if score:
            scored.append((-score, position, ArticleHit(article_id, title)))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [hit for _, _, hit in scored]


def runtime_search(runtime: Any) -> SearchFn | None:
    """The runtime's search engine (``toutiao.engines.search``) as a :data:`SearchFn`."""
    engine = getattr(runtime, "search", None)
    if engine is None:
        return None

    async def search(query: str, n: int) -> list[int]:
        # Twice as many: the index may still hold articles banned or deleted since.
        page = await engine.search(query, offset=0, limit=n * 2)
        return list(page.ids)

    return search


class Assistant:
    def __init__(self, db: Database, *, search: SearchFn | None = None) -> None:
        self.db = db
        self.search = search

    @classmethod
    def from_runtime(cls, runtime: Any) -> Assistant:
        return cls(runtime.db, search=runtime_search(runtime))

    async def answer(self, message: str) -> str:
        intent, query = classify(message)
        if intent is not Intent.NEWS:
            return _CANNED[intent]
        words = await asyncio.to_thread(keywords, query)
        if not words:
            if _ANY_NEWS.search(query):
                return await self._latest()
            return UNCLEAR
        hits = await self.find_articles(words)
        if hits is None:
            return SEARCH_DOWN
        return format_hits(hits) if hits else format_nothing(words)

    async def _latest(self) -> str:
        try:
            hits = await self.latest_articles()
        except Exception:
            log.exception("chat.latest_failed")
            return SEARCH_DOWN
        if not hits:
            return "现在还没有已发布的文章，过会儿再来看看吧。"
        return format_hits(hits, heading="这是最新发布的文章：")

    async def find_articles(self, words: list[str]) -> list[ArticleHit] | None:
        """Up to ``MAX_RESULTS`` approved articles; None when neither engine nor DB answers."""
        if self.search is not None:
            try:
                ids = await self.search(" ".join(words), MAX_RESULTS)
                hits = await self.approved_titles(ids)
            except Exception as exc:  # noqa: BLE001 - the database is the fallback
                log.warning("chat.search_failed error=%s: %s", type(exc).__name__, exc)
            else:
                if hits:
                    return hits[:MAX_RESULTS]
        try:
            return await self.search_titles(words)
        except Exception:
            log.exception("chat.fallback_search_failed")
            return None

    async def search_titles(self, words: list[str]) -> list[ArticleHit]:
        words = await asyncio.to_thread(expand, words)
        statement = (
            select(Article.article_id, Article.title)
            .where(
                Article.status == ArticleStatus.APPROVED,
                or_(*(Article.title.contains(word, autoescape=True) for word in words)),
            )
            .order_by(Article.pubdate.desc(), Article.article_id.desc())
            .limit(FALLBACK_CANDIDATES)
        )
        async with self.db.read_session() as session:
            rows = [(row.article_id, row.title) for row in await session.execute(statement)]
        return rank_titles(rows, words)[:MAX_RESULTS]

    async def approved_titles(self, ids: list[int]) -> list[ArticleHit]:
        """The approved ones among ``ids``, in their order."""
        if not ids:
            return []
        statement = select(Article.article_id, Article.title).where(
            Article.article_id.in_(ids), Article.status == ArticleStatus.APPROVED
        )
        async with self.db.read_session() as session:
            titles = {row.article_id: row.title for row in await session.execute(statement)}
        return [ArticleHit(i, titles[i]) for i in dict.fromkeys(ids) if i in titles]

    async def latest_articles(self) -> list[ArticleHit]:
        statement = (
            select(Article.article_id, Article.title)
            .where(Article.status == ArticleStatus.APPROVED)
            .order_by(Article.pubdate.desc(), Article.article_id.desc())
            .limit(MAX_RESULTS)
        )
        async with self.db.read_session() as session:
            return [
                ArticleHit(row.article_id, row.title) for row in await session.execute(statement)
            ]


_CANNED = {
    Intent.EMPTY: EMPTY,
    Intent.TOO_LONG: TOO_LONG,
    Intent.GREETING: GREETING,
    Intent.HELP: HELP,
    Intent.THANKS: THANKS,
    Intent.BYE: BYE,
}
