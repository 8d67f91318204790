"""Deterministic text for the demo: titles, HTML bodies, comments and user names.

Every function draws from the ``random.Random`` it is given and nothing else, so the same
seed gives the same text.
"""

from __future__ import annotations

import functools
import html
import random
import re
import string
from collections.abc import Callable

from toutiao.seed import fragments as f
from toutiao.seed.words import CITIES, NEWS_SOURCES, TECH_ORGS, Topic

_CJK = "\u4e00-\u9fff"
_CJK_THEN_LATIN = re.compile(rf"([{_CJK}])([A-Za-z0-9])")
_LATIN_THEN_CJK = re.compile(rf"([A-Za-z0-9%+#])([{_CJK}])")

TITLE_MIN, TITLE_MAX = 8, 40
_TECH_SUFFIXES = (
    "（附完整代码）",
    "，建议收藏",
    "｜万字长文",
    "（上）",
    "（下）",
    "：写给初学者",
    "，看完就懂",
)
_NEWS_SUFFIXES = ("｜快讯", "，附最新数据", "，你怎么看？", "｜深度")
_SHORT_PADS = ("的那些事", "：一线观察", "，你怎么看？", "全解析")


def spaced(text: str) -> str:
    """Put a space between Chinese and Latin text, as Chinese tech writing does."""
    return _LATIN_THEN_CJK.sub(r"\1 \2", _CJK_THEN_LATIN.sub(r"\1 \2", text))


_DRAWS: dict[str, Callable[[random.Random, Topic], object]] = {
    "p": lambda rng, topic: rng.choice(topic.phrases),
    "o": lambda rng, _topic: rng.choice(TECH_ORGS),
    "n": lambda rng, _topic: rng.randint(3, 12),
    "pct": lambda rng, _topic: rng.randint(5, 80),
    "y": lambda rng, _topic: rng.choice((2024, 2025, 2026)),
    "c": lambda rng, _topic: rng.choice(CITIES),
    "s": lambda rng, _topic: rng.choice(NEWS_SOURCES),
}


@functools.cache
def _slots(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def raw(rng: random.Random, template: str, topic: Topic) -> str:
    """A filled template without the Chinese/Latin spacing (applied once per block)."""
    slots = _slots(template)
    values: dict[str, object] = {}
    if "u" in slots:
        values["t"], values["u"] = rng.sample(topic.terms, 2)
    elif "t" in slots:
        values["t"] = rng.choice(topic.terms)
    for name in slots:
        if name not in values:
            values[name] = _DRAWS[name](rng, topic)
    return template.format(**values)


def fill(rng: random.Random, template: str, topic: Topic) -> str:
    return spaced(raw(rng, template, topic))


def title(rng: random.Random, topic: Topic) -> str:
    tech = topic.kind == "tech"
    templates = f.TECH_TITLES if tech else f.NEWS_TITLES
    text = ""
    for _ in range(4):
        text = fill(rng, rng.choice(templates), topic)
        if TITLE_MIN <= len(text) <= TITLE_MAX:
            break
    if rng.random() < 0.15:
        suffix = rng.choice(_TECH_SUFFIXES if tech else _NEWS_SUFFIXES)
        if len(text) + len(suffix) <= TITLE_MAX:
            text += suffix
    if len(text) < TITLE_MIN:
        text += rng.choice(_SHORT_PADS)
    return text[:TITLE_MAX]


def _paragraph(rng: random.Random, topic: Topic, sentences: tuple[str, ...]) -> str:
    count = rng.randint(2, 5)
    text = spaced("".join(raw(rng, rng.choice(sentences), topic) for _ in range(count)))
    return f"<p>{html.escape(text, quote=False)}</p>"


def _extra(rng: random.Random, topic: Topic) -> str | None:
    """Now and then a heading, a list or a code block between paragraphs."""
    tech = topic.kind == "tech"
    roll = rng.random()
    if roll < 0.2:
        heading = fill(rng, rng.choice(f.TECH_HEADINGS if tech else f.NEWS_HEADINGS), topic)
        return f"<h2>{html.escape(heading, quote=False)}</h2>"
    if roll < 0.28:
        items = (fill(rng, rng.choice(f.LIST_ITEMS), topic) for _ in range(rng.randint(3, 5)))
        return "<ul>" + "".join(f"<li>{html.escape(i, quote=False)}</li>" for i in items) + "</ul>"
    if roll < 0.36 and topic.code:
        code = html.escape(rng.choice(f.CODE[topic.code]), quote=False)
        return f'<pre><code class="language-{topic.code}">{code}</code></pre>'
    return None


class TextPool:
    """Each topic's paragraphs, extra blocks and comments: written afresh until a topic has
    ``cap`` of a kind, then drawn from those. Filling templates is most of the cost of a demo
    article; past the cap (some tens of thousands of articles) bodies and comments reuse
    pieces, still in their topic's words."""

    def __init__(self, cap: int = 4000) -> None:
        self.cap = cap
        self._pool: dict[tuple[str, str], list[str]] = {}

    def draw(self, rng: random.Random, topic: Topic, kind: str, make: Callable[[], str]) -> str:
        pool = self._pool.setdefault((topic.name, kind), [])
        if len(pool) >= self.cap:
            return rng.choice(pool)
        pool.append(make())
        return pool[-1]


def body(
    rng: random.Random, topic: Topic, image_url: str | None = None, pool: TextPool | None = None
) -> str:
    """An HTML article body of 3 to 15 paragraphs."""
    sentences = f.TECH_SENTENCES if topic.kind == "tech" else f.NEWS_SENTENCES

    def paragraph() -> str:
        return _paragraph(rng, topic, sentences)

    def extra() -> str:
        return _extra(rng, topic) or ""

    parts: list[str] = []
    for index in range(rng.randint(3, 15)):
        if index:
            block = pool.draw(rng, topic, "extra", extra) if pool else extra()
            if block:
                parts.append(block)
        parts.append(pool.draw(rng, topic, "p", paragraph) if pool else paragraph())
    if image_url and rng.random() < 0.3:
        parts.insert(1, f'<p><img src="{html.escape(image_url)}" alt=""></p>')
    return "\n".join(parts)


def comment(
    rng: random.Random, topic: Topic, *, reply: bool = False, pool: TextPool | None = None
) -> str:
    if pool is not None:
        return pool.draw(
            rng, topic, "reply" if reply else "comment", lambda: comment(rng, topic, reply=reply)
        )
    text = fill(rng, rng.choice(f.REPLIES if reply else f.COMMENTS), topic)
    if rng.random() < 0.25:
        text += "。" + fill(rng, rng.choice(f.COMMENTS), topic)
    return text[:200]


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(f.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(f.FAMILY_NAMES) + given


def nickname(rng: random.Random) -> str:
    family = rng.choice(f.FAMILY_NAMES)
    style = rng.random()
    if style < 0.35:
        return person_name(rng)
    if style < 0.6:
        return rng.choice(f.NICK_PREFIXES) + rng.choice(("小", "老", "阿")) + family
    if style < 0.8:
        return f"{rng.choice(f.HANDLES)}_{rng.choice(f.PINYIN)}{rng.randint(10, 9999)}"
    return rng.choice(f.NICK_ADJECTIVES) + rng.choice(f.NICK_ANIMALS)
