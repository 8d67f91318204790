"""Writing an article: what an author sends, checked, sanitised and stored (mp.md §3.8, §3.9,
§6.2, §6.3). The lifecycle's ``save_draft`` and ``submit`` are its callers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.content import policy, repository, sensitive
from toutiao.content.policy import Actor
from toutiao.content.sanitize import Cover, clean_html, is_empty, normalise_cover, plain_text
from toutiao.kit.errors import BadRequest
from toutiao.models import Article
from toutiao.models.base import local_now
from toutiao.models.enums import ArticleStatus
from toutiao.runtime import Runtime

S = ArticleStatus
TITLE_MIN, TITLE_MAX = 5, 30


@dataclass(frozen=True)
class ArticleInput:
    title: str
    content: str  # HTML from the editor, not yet sanitised
    cover_type: int
    cover_images: list[str | None]
    channel_id: int


@dataclass(frozen=True)
class Saved:
    article_id: int
    status: ArticleStatus
    sensitive_words: list[str] = field(default_factory=list)  # found on submission


@dataclass(frozen=True)
class Clean:
    title: str
    content: str
    text: str
    cover: Cover


def media_prefix(runtime: Runtime) -> str:
    """URLs of this platform's stored files start with this."""
    return runtime.storage.url("")


async def clean_input(
    runtime: Runtime, session: AsyncSession, data: ArticleInput, *, publish: bool
) -> Clean:
    """Every rule of §6.3; raises 400 with the first that fails."""
    title = data.title.strip()
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise BadRequest(f"title: {TITLE_MIN}-{TITLE_MAX} characters")
    if len(data.content.encode()) > runtime.settings.MP_CONTENT_MAX_BYTES:
        raise BadRequest("content: too large")
    prefix = media_prefix(runtime)
    content = clean_html(data.content, prefix)
    if is_empty(content):
        raise BadRequest("content: empty")
    cover = normalise_cover(data.cover_type, data.cover_images, content, prefix, publish=publish)
    if not await repository.channel_exists(session, data.channel_id):
        raise BadRequest("channel_id: unknown channel")
    return Clean(title, content, plain_text(content), cover)


async def _status_on_submit(
    runtime: Runtime, session: AsyncSession, clean: Clean
) -> tuple[ArticleStatus, list[str]]:
    """Pending, or approved with auto-approval; sensitive words over the threshold hold it
    for a person (never rejected automatically), and each such word counts the hold."""
    found = await sensitive.find(runtime, session, clean.title, clean.text)
    if found.holds(runtime.settings.SENSITIVE_HOLD_THRESHOLD):
        await repository.count_holds(session, found.words)
        return S.PENDING, found.words
    return (S.APPROVED if runtime.settings.mp_auto_approve else S.PENDING), found.words


async def _target(
    runtime: Runtime, session: AsyncSession, actor: Actor, article_id: int | None, channel_id: int
) -> Article:
    if article_id is None:
        article = Article(
            article_id=runtime.ids.next_id(), user_id=actor.id, channel_id=channel_id, title=""
        )
        return article
    article = policy.visible_to(actor, await repository.get_article(session, article_id, lock=True))
    policy.check_editable(article)
    return article


async def write_article(
    runtime: Runtime,
    session: AsyncSession,
    actor: Actor,
    data: ArticleInput,
    article_id: int | None,
    *,
    submit: bool,
) -> Saved:
    """Create or wholly replace (title, content, cover, channel) an article; any edit clears
    the reject reason and sends it back to draft or review."""
    article = await _target(runtime, session, actor, article_id, data.channel_id)
    clean = await clean_input(runtime, session, data, publish=submit)
    status, words = await _status_on_submit(runtime, session, clean) if submit else (S.DRAFT, [])
    article.title = clean.title
    article.channel_id = data.channel_id
    article.cover = clean.cover.as_json()
    article.status = status
    article.reject_reason = None
    if status == S.APPROVED:
        article.pubdate = local_now()
    if article_id is None:
        repository.add_article(session, article, clean.content)
    else:
        await repository.replace_content(session, article.article_id, clean.content)
    await session.flush()
    return Saved(article.article_id, status, words)
