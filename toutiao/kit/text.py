"""Words of a text, shared by search indexing, content similarity and the assistant: jieba
tokens of the title (counted twice) and of the body with its HTML stripped.

jieba is imported lazily and quietly: it logs at DEBUG and keeps its dictionary cache in a
temp or data directory we choose, never next to the package. Everything here is CPU-bound
and synchronous; callers run it in a worker thread or process.
"""

from __future__ import annotations

import html
import logging
import re
import tempfile
import threading
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

# The beginning of a long article carries its topic; capping bounds tokenising time.
MAX_BODY_CHARS = 2000
# Terms kept per document (by count) for weighting; rarer ones rarely matter for similarity.
KEEP_TERMS = 64
MAX_TERM_CHARS = 20

_BLOCKS = re.compile(r"<(script|style|pre)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9+#.\-]*")

# Frequent function words that survive the two-character minimum.
_STOPWORDS = """
    我们 你们 他们 她们 它们 自己 这个 那个 这些 那些 这样 那样 这种 那种 这里 那里 什么 怎么
    如何 为什么 因为 所以 但是 而且 并且 或者 还是 如果 虽然 然后 已经 还有 以及 以后 之后 之前
    可以 可能 应该 需要 没有 不是 就是 只是 一个 一些 一种 一次 一样 一直 一定 其实 其中 通过
    进行 对于 关于 由于 为了 不过 不会 非常 比较 更加 最终 同时 此外 另外 目前 现在 今天 今年
    以上 以下 之一 之间 方面 问题 时候 大家 很多 许多 所有 任何 每个 各种 开始 出现 成为 认为
    表示 觉得 知道 看到 来说 而言 起来 一下 下来 出来 上来 the and for with that this from are
    was were will have has not but you your our its can all any one two how what when why who
"""
STOPWORDS = frozenset(_STOPWORDS.split())

_lock = threading.Lock()
_tokenizer: Any = None
_cache_dir: Path | None = None


def configure(cache_dir: Path | str | None) -> None:
    """Where jieba caches its parsed dictionary (default: the system temp directory)."""
    global _cache_dir
    _cache_dir = Path(cache_dir) if cache_dir else None


def cache_dir() -> str | None:
    return str(_cache_dir) if _cache_dir else None


def _jieba() -> Any:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # old releases import pkg_resources
                import jieba
            jieba.setLogLevel(logging.WARNING)
            cache_dir = _cache_dir or Path(tempfile.gettempdir())
            cache_dir.mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
            jieba.initialize()
            _tokenizer = jieba.dt
        return _tokenizer


def segmenter() -> Any:
    """The initialised jieba tokenizer (``jieba.dt``), for other domains (search)."""
    return _jieba()


def init_worker(cache_dir: str | None) -> None:
    """Process-pool initializer: load the dictionary once per worker process."""
    configure(cache_dir)
    _jieba()


def plain_text(content: str) -> str:
    text = _TAGS.sub(" ", _BLOCKS.sub(" ", content))
    return _SPACES.sub(" ", html.unescape(text)).strip()


def tokens(text: str) -> list[str]:
    found = []
    for raw in _jieba().cut(text, HMM=False):
        word = raw.strip().lower()
        if len(word) < 2 or len(word) > MAX_TERM_CHARS or word in STOPWORDS:
            continue
        if _WORD.fullmatch(word):
            found.append(word)
    return found


def term_counts(title: str, content: str | None) -> Counter[str]:
    counts = Counter(tokens(title))
    for word in counts:
        counts[word] *= 2
    if content:
        counts.update(tokens(plain_text(content)[:MAX_BODY_CHARS]))
    return counts


Analysed = tuple[list[str], list[tuple[str, int]]]


def analyse(docs: list[tuple[str, str | None]]) -> list[Analysed]:
    """For each (title, html): all distinct terms (for document frequencies) and the
    ``KEEP_TERMS`` most frequent with their counts. Picklable, for a process pool."""
    out: list[Analysed] = []
    for title, content in docs:
        counts = term_counts(title, content)
        out.append((list(counts), counts.most_common(KEEP_TERMS)))
    return out
