"""The embedded engine: a Tantivy index under the data dir, segmented by jieba.

Chinese has no spaces, so we segment in Python and hand Tantivy pre-tokenized text. Documents
are segmented the way IK's ``ik_max_word`` does it (each word, plus the dictionary words
inside a long word at the same position) and queries the way ``ik_smart`` does (words only):
a query word always meets its own token in the index, a phrase stays a phrase, and a query
for a sub-word ("人民") still finds the long word ("中华人民共和国").

Tantivy calls block, so they run in worker threads. Only one writer may hold the index at a
time (across processes too): each write takes the writer, commits, waits for merges and lets
go, so ``toutiao search reindex`` and the index worker of a running server take turns.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import tantivy
from tantivy import Document, Occur, PreTokenizedString, Query, Token

from toutiao.engines.search import (
    BODY_PHRASE_BONUS,
    MAX_WINDOW,
    PHRASE_BOOST,
    TITLE_START_BONUS,
    TITLE_SUBSTRING_BONUS,
    TITLE_WORDS_BONUS,
    SearchDoc,
    SearchPage,
    SearchUnavailable,
    normalize,
    required_words,
    title_chars,
    title_key,
)
from toutiao.kit import text as jieba_text

log = logging.getLogger("toutiao.search.tantivy")

T = TypeVar("T")

SCHEMA_VERSION = 4  # a new version builds a new index beside the old one (then reindex)
WRITER_HEAP = 64_000_000
WRITER_WAIT = 15.0  # seconds to wait for another process's writer before giving up
# In a query of three or more words, a word in more than this share of the articles is
# common: the required share of the words (``required_words``) applies to the others, and
# the common ones only add to the score. Tantivy's "so many of these words" visits every
# posting of every word; a pasted title's frequent words made that 5-6 ms at 100,000
# articles, and 2.5 ms without them driving the match (same first hit on every whole-title
# query of the bench, 9.5 of the top 10 the same).
COMMON_WORD_SHARE = 0.03
TITLE_BOOST = 2.0
TIE_WINDOW = 500  # hits fetched at most past the page to order a tie at its end by date
MAX_TOKEN_CHARS = 40
# Single characters that carry no meaning on their own; never indexed, never required.
STOP_CHARS = frozenset("的了是在和与及或把被吗呢啊吧着过就都也而之其")
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# -- segmentation --------------------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _keep(word: str) -> bool:
    return len(word) <= MAX_TOKEN_CHARS and word not in STOP_CHARS and bool(_WORDLIKE.search(word))


def query_words(text: str) -> list[str]:
    """The distinct words of a query (jieba's precise mode)."""
    words = jieba_text._jieba().cut(normalize(text), HMM=False)
    return list(dict.fromkeys(w for w in words if _keep(w)))


def completion_words(prefix: str) -> list[str]:
    """Query words of a prefix being typed; its last word may be unfinished, and jieba cuts an
    unfinished word into single characters ("冷启" -> 冷 / 启), so a trailing run of them is
    kept whole, as the prefix of the last word."""
    pieces = [p for p in jieba_text._jieba().cut(normalize(prefix), HMM=False) if p.strip()]
    run = ""
    while pieces and len(pieces[-1]) == 1 and _CJK.match(pieces[-1]):
        run = pieces.pop() + run
    words = [p for p in pieces if _keep(p)]
    return [*words, run] if run else words


Segmented = list[tuple[str, int, int, int]]  # (token, position, char from, char to)


def segment(text: str) -> Segmented:
    """Words with sequential positions; the dictionary words inside a long Chinese word share
    its position (what jieba's search mode adds, without breaking phrases)."""
    dt = jieba_text._jieba()
    freq = dt.FREQ
    tokens: Segmented = []
    position = start = 0
    for word in dt.cut(_fold(text), HMM=False):
        end = start + len(word)
        if _keep(word):
            if len(word) > 2 and _CJK.match(word):
                for size in (2, 3):
                    for i in range(len(word) - size + 1):
                        gram = word[i : i + size]
                        if size < len(word) and freq.get(gram):
                            tokens.append((gram, position, start + i, start + i + size))
            tokens.append((word, position, start, end))
            position += 1
        start = end
    return tokens


def segment_docs(texts: Sequence[Sequence[str]]) -> list[list[Segmented]]:
    """Every field of every document; picklable both ways, for a process pool."""
    return [[segment(field) for field in fields] for fields in texts]


def _char_tokens(title: str) -> Segmented:
    """One token per character of the title."""
    return [(c, i, 0, 0) for i, c in enumerate(title_chars(title))]


def _pair_tokens(title: str) -> Segmented:
    """The title's neighbouring characters in pairs, each at its first character's position
    plus one, after ``TITLE_START`` and the first character at 0: the query inside the title
    is a phrase of its pairs, the title starting with it the same phrase from the first token.
    A pair is far rarer than either of its characters, so these phrases read short posting
    lists (the per-character phrase they replace cost several times more)."""
    chars = title_chars(title)
    if not chars:
        return []
    pairs = [(chars[i] + chars[i + 1], i + 1, 0, 0) for i in range(len(chars) - 1)]
    return [(TITLE_START + chars[0], 0, 0, 0), *pairs]


# -- spelling correction ----------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): a swap of neighbours costs one."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _grams(term: str) -> set[str]:
    if _CJK.search(term):
        return set(term)
    padded = f"^{term}$"
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


class Vocabulary:
    """Title terms with their document counts, and a gram index to find near spellings."""

    MAX_TERMS = 100_000  # the most frequent; memory stays bounded on a huge index
    MAX_CANDIDATES = 200

    def __init__(self, terms: Sequence[tuple[str, int]]) -> None:
        self.freq = {t: n for t, n in terms[: self.MAX_TERMS] if _keep(t)}
        self.grams: dict[str, list[str]] = {}
        for term in self.freq:
            for gram in _grams(term):
                self.grams.setdefault(gram, []).append(term)

    def near(self, word: str, *, size: int | None = None, k: int = 5) -> list[str]:
        """Up to ``k`` known terms within one edit (two for long Latin words) of an unknown
        ``word``, nearest first, then most frequent."""
        if word in self.freq:
            return []
        limit = 2 if len(word) > 5 and not _CJK.search(word) else 1
        shared: Counter[str] = Counter()
        for gram in _grams(word):
            shared.update(self.grams.get(gram, ()))
        found = []
        for term, _ in shared.most_common(self.MAX_CANDIDATES):
            if abs(len(term) - len(word)) <= limit and size in (None, len(term)):
                distance = edit_distance(word, term)
                if distance <= limit:
                    found.append((distance, -self.freq[term], term))
        return [term for _, _, term in sorted(found)[:k]]


MAX_CORRECTIONS = 24


def corrections(text: str, vocab: Vocabulary) -> list[str]:
    """Spellings of ``text`` with its unknown words replaced by near known ones; a run of
    stray single characters (where a typo broke a word: 大模形 -> 大/模/形) is fixed inside."""
    pieces = list(jieba_text._jieba().cut(normalize(text), HMM=False))
    slots: list[list[str]] = []
    i = 0
    while i < len(pieces):
        j = i
        while j < len(pieces) and len(pieces[j]) == 1 and _CJK.match(pieces[j]):
            j += 1
        if j - i >= 2:
            run = "".join(pieces[i:j])
            slots.append([run, *_run_options(run, vocab)])
            i = j
            continue
        piece = pieces[i]
        known = not _keep(piece) or len(piece) < 2
        slots.append([piece] if known else [piece, *vocab.near(piece)])
        i += 1
    out = []
    for combo in itertools.islice(itertools.product(*slots), 1, MAX_CORRECTIONS + 1):
        out.append("".join(combo))
    return out


def _run_options(run: str, vocab: Vocabulary) -> list[str]:
    options = []
    for size in (2, 3):
        for start in range(len(run) - size + 1):
            for term in vocab.near(run[start : start + size], size=size):
                options.append(run[:start] + term + run[start + size :])
    return list(dict.fromkeys(options))


# -- the engine -------------------------------------------------------------------------------

_TEXT_FIELDS = ("title", "body", "author", "channel")
TITLE_START = "^"  # marks the first token of ``title_pairs``: a phrase from it is a title prefix
_INT_FIELDS = ("channel_id", "comm_count", "like_count", "collect_count")


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_integer_field("author_id", indexed=True, fast=True)  # readers' blacklists
    builder.add_text_field("title", stored=True, tokenizer_name="seg")
    for name in _TEXT_FIELDS[1:]:
        builder.add_text_field(name, tokenizer_name="seg")
    builder.add_text_field("title_key", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title_chars", tokenizer_name="seg", index_option="basic")
    builder.add_text_field("title_pairs", tokenizer_name="seg")
    builder.add_integer_field("pubdate", fast=True)
    builder.add_integer_field("indexed_at", indexed=True, fast=True)
    for name in _INT_FIELDS:
        builder.add_integer_field(name, fast=True)
    return builder.build()


def _texts(doc: SearchDoc) -> tuple[str, str, str, str]:
    return doc.title, doc.content, doc.author_name, doc.channel_name


def _document(doc: SearchDoc, segmented: Sequence[Segmented], indexed_at: int) -> Document:
    out = Document()
    out.add_integer("id", doc.article_id)
    out.add_integer("author_id", doc.author_id)
    for name, value, tokens in zip(_TEXT_FIELDS, _texts(doc), segmented, strict=True):
        pre = PreTokenizedString(value, [Token(t, p, a, b) for t, p, a, b in tokens])
        out.add_pre_tokenized_text(name, pre)
    out.add_text("title_key", title_key(doc.title))
    chars = PreTokenizedString(doc.title, [Token(*t) for t in _char_tokens(doc.title)])
    out.add_pre_tokenized_text("title_chars", chars)
    pairs = PreTokenizedString(doc.title, [Token(*t) for t in _pair_tokens(doc.title)])
    out.add_pre_tokenized_text("title_pairs", pairs)
    out.add_integer("pubdate", int(doc.pubdate.timestamp()))
    out.add_integer("indexed_at", indexed_at)
    for name in _INT_FIELDS:
        out.add_integer(name, int(getattr(doc, name)))
    return out


class TantivySearch:
    name = "tantivy"
    VOCAB_TTL = 600.0  # seconds; sooner after our own writes (at most once a minute)

    def __init__(self, path: Path, *, writer_heap: int = WRITER_HEAP) -> None:
        self.path = path / f"articles-v{SCHEMA_VERSION}"
        self.writer_heap = writer_heap
        self._index: tantivy.Index | None = None
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.generation = 0
        self._vocab: Vocabulary | None = None
        self._vocab_at = (-1, 0.0)  # (generation, monotonic time) it was built at
        self._workers = 0
        self._pool: ProcessPoolExecutor | None = None

    def set_workers(self, workers: int) -> None:
        """Segment in this many processes (bulk indexing: jieba is pure Python, one core each)."""
        self._workers = max(0, workers)

    # -- plumbing
    async def _run(self, func: Callable[..., T], *args: Any, inline: bool = False) -> T:
        """``func`` in a worker thread; ``inline``: on the event loop once the index is open
        (for bounded calls well under a millisecond, where the thread hop would cost more
        than the call)."""
        try:
            if inline and self._index is not None:
                return func(*args)
            return await asyncio.to_thread(func, *args)
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("search.tantivy_failed path=%s error=%s", self.path, exc)
            raise SearchUnavailable() from exc

    def _open(self) -> tantivy.Index:
        with self._open_lock:
            if self._index is None:
                self.path.mkdir(parents=True, exist_ok=True)
                index = tantivy.Index(_schema(), path=str(self.path), reuse=True)
                # Only the query parser would use it: our text arrives pre-tokenized.
                seg = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
                index.register_tokenizer("seg", seg)
                self._index = index
            return self._index

    def _writer(self, index: tantivy.Index) -> Any:
        deadline = time.monotonic() + WRITER_WAIT
        while True:
            try:
                return index.writer(self.writer_heap, 1)
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _write(self, change: Callable[[Any, tantivy.Schema], None]) -> None:
        with self._write_lock:
            index = self._open()
            writer = self._writer(index)
            try:
                change(writer, index.schema)
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # also releases the lock for other processes
            index.reload()
            self.generation += 1

    async def _segment(self, texts: list[tuple[str, ...]]) -> list[list[Segmented]]:
        if self._workers <= 1 or len(texts) < 2 * self._workers:
            return await self._run(segment_docs, texts)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=get_context("spawn"),
                initializer=jieba_text.init_worker,
                initargs=(jieba_text.cache_dir(),),
            )
        loop, size = asyncio.get_running_loop(), -(-len(texts) // self._workers)
        try:
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(self._pool, segment_docs, texts[i : i + size])
                    for i in range(0, len(texts), size)
                )
            )
        except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
            self._pool = None
            raise SearchUnavailable() from exc
        return [item for part in parts for item in part]

    # -- writes
    async def index(self, docs: Sequence[SearchDoc], *, refresh: bool = True) -> None:
        """Every call commits (``refresh`` is implied)."""
        if not docs:
            return
        now = int(time.time() * 1000)
        segmented = await self._segment([_texts(d) for d in docs])

        def change(writer: Any, _schema: tantivy.Schema) -> None:
            for doc, fields in zip(docs, segmented, strict=True):
                writer.delete_documents_by_term("id", doc.article_id)
                writer.add_document(_document(doc, fields, now))

        await self._run(self._write, change)

    async def delete(self, ids: Sequence[int]) -> None:
        def change(writer: Any, _schema: tantivy.Schema) -> None:
            for article_id in ids:
                writer.delete_documents_by_term("id", article_id)

        if ids:
            await self._run(self._write, change)

    async def purge(self, indexed_before_ms: int) -> None:
        def change(writer: Any, schema: tantivy.Schema) -> None:
            writer.delete_documents_by_query(
                Query.range_query(
                    schema,
                    "indexed_at",
                    tantivy.FieldType.Integer,
                    None,
                    indexed_before_ms,
                    include_upper=False,
                )
            )

        await self._run(self._write, change)

    # -- reads
    async def search(
        self, query: str, *, offset: int, limit: int, exclude_authors: Collection[int] = ()
    ) -> SearchPage:
        return await self._run(self._search, query, offset, limit, exclude_authors)

    def _search(
        self, query: str, offset: int, limit: int, exclude_authors: Collection[int] = ()
    ) -> SearchPage:
        words = query_words(query)
        if not words:
            return SearchPage(0, [])
        index = self._open()
        searcher, schema = index.searcher(), index.schema
        clauses = [(Occur.Should, _word(schema, w)) for w in words]
        chars = title_chars(query)
        in_title = _title_substring(schema, chars)
        tiers = _tiers(schema, words, chars, in_title)
        hidden = []
        if exclude_authors:
            authors = Query.term_set_query(schema, "author_id", sorted(exclude_authors))
            hidden.append((Occur.MustNot, authors))
        need = required_words(len(words))
        for required in dict.fromkeys((need, 1)):
            if required == need:
                matched = _most_words(searcher, words, clauses, need)
            else:
                matched = Query.boolean_query(clauses, required)
            # Matches: most of the words anywhere, or the query inside the title. Every tier
            # matches a subset of those two, so the scored query matches exactly them and
            # counts them in its own pass.
            scored = Query.boolean_query([(Occur.Should, matched), *tiers, *hidden])
            page = _ranked(searcher, scored, offset, limit)
            if page.total:
                return SearchPage(page.total, page.ids, relaxed=required < need)
        return page

    async def suggest(self, prefix: str, *, limit: int) -> list[str]:
        # Bounded: at most 2 * limit one-hit term lookups and one phrase-prefix query.
        return await self._run(self._suggest, prefix, limit, inline=True)

    def _suggest(self, prefix: str, limit: int) -> list[str]:
        key = title_key(prefix)
        if not key or limit <= 0:
            return []
        index = self._open()
        searcher, schema = index.searcher(), index.schema
        titles: dict[str, None] = {}
        # Terms of deleted documents stay in the dictionary until a merge: looking each title
        # up drops them (a search sees live documents only), so ask for a few extra.
        for term, _ in searcher.terms_with_prefix("title_key", key, limit=limit * 2):
            hits = searcher.search(Query.term_query(schema, "title_key", term), 1, False).hits
            if hits:
                titles[searcher.doc(hits[0][1]).get_first("title")] = None
            if len(titles) >= limit:
                return list(titles)
        words = completion_words(prefix)
        if words:  # then titles with the words, the last one as a prefix
            query = Query.phrase_prefix_query(schema, "title", words)
            for _, address in searcher.search(query, limit * 2, False).hits:
                titles.setdefault(searcher.doc(address).get_first("title"), None)
        return list(titles)[:limit]

    async def correct(self, text: str) -> str | None:
        return await self._run(self._correct, text)

    def _correct(self, text: str) -> str | None:
        """The candidate spelling with the most evidence in titles: titles holding it as a
        phrase, then titles holding all its words (at least one must)."""
        candidates = corrections(text, self._vocabulary())
        if not candidates:
            return None
        index = self._open()
        searcher, schema = index.searcher(), index.schema
        best, best_score = None, (0, 0)
        for candidate in candidates:
            words = query_words(candidate)
            if not words:
                continue
            in_titles = [(Occur.Must, Query.term_query(schema, "title", w)) for w in words]
            score = (
                searcher.search(_title_phrase(schema, words), 1).count,
                searcher.search(Query.boolean_query(in_titles), 1).count,
            )
            if score[1] and score > best_score:
                best, best_score = candidate, score
        return best

    def _vocabulary(self) -> Vocabulary:
        built_for, built_at = self._vocab_at
        age = time.monotonic() - built_at
        stale = age > self.VOCAB_TTL or (built_for != self.generation and age > 60)
        if self._vocab is None or stale:
            generation = self.generation
            terms = self._open().searcher().terms_with_prefix("title", "")
            self._vocab = Vocabulary(terms)
            self._vocab_at = (generation, time.monotonic())
        return self._vocab

    async def ping(self) -> bool:
        try:
            await self._run(lambda: self._open().searcher().num_docs)
        except SearchUnavailable:
            return False
        return True

    async def count(self) -> int:
        """Documents in the index (live ones)."""
        return await self._run(lambda: self._open().searcher().num_docs)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._index = None
        self._vocab = None


def _word(schema: tantivy.Schema, word: str) -> Query:
    """One query word in any field (BM25 summed over the fields), the title counting double."""
    fields = [Query.term_query(schema, f, word) for f in _TEXT_FIELDS]
    fields[0] = Query.boost_query(fields[0], TITLE_BOOST)
    return Query.boolean_query([(Occur.Should, q) for q in fields])


def _most_words(
    searcher: Any, words: list[str], clauses: list[tuple[Any, Query]], need: int
) -> Query:
    """Documents holding ``need`` (``required_words``) of the query's words; in a query of three or
    more, that share of its words that are not common (``COMMON_WORD_SHARE``), the common
    ones scored where they occur. A document holding every word matches either way; one
    holding most of the words but few of the rare ones no longer does."""
    if len(words) <= 2:
        return Query.boolean_query(clauses, need)
    limit = COMMON_WORD_SHARE * searcher.num_docs
    common = [
        max(searcher.doc_freq(field, word) for field in _TEXT_FIELDS[:2]) > limit for word in words
    ]
    rare = [clause for clause, is_common in zip(clauses, common, strict=True) if not is_common]
    if not rare or len(rare) == len(words):
        return Query.boolean_query(clauses, need)
    scored = [clause for clause, is_common in zip(clauses, common, strict=True) if is_common]
    return Query.boolean_query(
        [(Occur.Must, Query.boolean_query(rare, required_words(len(rare)))), *scored]
    )


def _title_phrase(schema: tantivy.Schema, words: list[str]) -> Query:
    if len(words) == 1:
        return Query.term_query(schema, "title", words[0])
    return Query.phrase_query(schema, "title", words)


def _pairs_phrase(schema: tantivy.Schema, tokens: list[str]) -> Query:
    if len(tokens) == 1:
        return Query.term_query(schema, "title_pairs", tokens[0])
    return Query.phrase_query(schema, "title_pairs", tokens)


def _pairs(chars: list[str]) -> list[str]:
    return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]


def _title_substring(schema: tantivy.Schema, chars: list[str]) -> Query:
    """Titles holding these characters in a row (none for a query without any)."""
    if not chars:
        return Query.empty_query()
    if len(chars) == 1:
        return Query.term_query(schema, "title_chars", chars[0])
    return _pairs_phrase(schema, _pairs(chars))


def _title_start(schema: tantivy.Schema, chars: list[str]) -> Query:
    """Titles starting with these characters (at least one)."""
    return _pairs_phrase(schema, [TITLE_START + chars[0], *_pairs(chars)])


def _tiers(
    schema: tantivy.Schema, words: list[str], chars: list[str], in_title: Query
) -> list[tuple[Any, Query]]:
    """The scoring clauses added to BM25: the ranking tiers of the engine interface."""
    tiers = [Query.const_score_query(in_title, TITLE_SUBSTRING_BONUS)]
    if chars:
        start = _title_start(schema, chars)
        tiers.append(Query.const_score_query(start, TITLE_START_BONUS))
    if len(words) > 1:
        every = Query.boolean_query(
            [(Occur.Must, Query.term_query(schema, "title", w)) for w in words]
        )
        tiers += [
            Query.const_score_query(every, TITLE_WORDS_BONUS),
            Query.const_score_query(Query.phrase_query(schema, "body", words), BODY_PHRASE_BONUS),
            Query.boost_query(_title_phrase(schema, words), PHRASE_BOOST),
        ]
    return [(Occur.Should, q) for q in tiers]


def _ranked(searcher: Any, scored: Query, offset: int, limit: int) -> SearchPage:
    """Top hits by score, newer first among equal scores, exactly across the page boundary
    while at most ``TIE_WINDOW`` hits tie with the page's last one (past that, the newest of
    those fetched come first). The first pass also counts the matches (one pass over them,
    not a second one to count)."""
    want = offset + limit
    if want > MAX_WINDOW:
        return SearchPage(searcher.search(scored, 1, count=True).count or 0, [])
    fetch = want + max(limit, 10)
    first = searcher.search(scored, fetch, count=True)
    hits, total = first.hits, first.count or 0
    if len(hits) == fetch and _tie(hits[-1][0]) == _tie(hits[want - 1][0]):
        # The page's last score goes on past the fetch: one wider fetch (each is a scoring
        # pass; doubling until the tie ended took up to 8 on common one-word queries).
        fetch = want + TIE_WINDOW
        hits = searcher.search(scored, fetch, count=False).hits
    addresses = [address for _, address in hits]
    ids = searcher.fast_field_values("id", addresses)
    dates = searcher.fast_field_values("pubdate", addresses)
    order = sorted(
        range(len(hits)), key=lambda i: (-_tie(hits[i][0]), -(dates[i] or 0), -(ids[i] or 0))
    )
    return SearchPage(max(total, len(hits)), [int(ids[i]) for i in order[offset:want]])


def _tie(score: float) -> float:
    """Scores equal to 3 decimals tie (f32 sums differ in their last bits)."""
    return round(score, 3)
