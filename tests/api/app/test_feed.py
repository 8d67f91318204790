"""Feeds and article detail (app.md E32-E34) with the recommender unavailable: the local recall."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.api.app.test_auth import assert_error
from toutiao.api.app.schemas.feed import FeedPage, FeedV10Page
from toutiao.api.responses import Envelope
from toutiao.recommend import events, history, waiting
from toutiao.recommend import keys as reco_keys
from toutiao.stats import activity, counters

NOW = datetime.now().replace(microsecond=0)


@pytest.fixture
async def world(factory, runtime):
    assert runtime.reco is None  # these tests exercise the fallback
    (go, py) = await factory.channels(["go", "python"])
    author = await factory.user(name="作者")
    ids = [
        await factory.article(
            author.user_id, go.channel_id, title=f"go {n}", pubdate=NOW - timedelta(hours=n + 1)
        )
        for n in range(25)
    ]
    other = await factory.article(
        author.user_id, py.channel_id, title="py", pubdate=NOW - timedelta(minutes=30)
    )
    pinned = ids[20]
    await runtime.store.zadd(f"ch:{go.channel_id}:art:top", {str(pinned): 1})
    return {
        "go": go.channel_id,
        "py": py.channel_id,
        "ids": ids,
        "other": other,
        "pinned": pinned,
        "author": author,
    }


def feed_url(channel: int, timestamp: int, with_top: int = 1) -> str:
    return f"/app/v1_1/articles?channel_id={channel}&timestamp={timestamp}&with_top={with_top}"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def test_scrolls_back_through_the_channel_without_gaps(client, world):
    seen: list[int] = []
    timestamp, pages = ms(NOW), 0
    while True:
        body = (
            await client.get(feed_url(world["go"], timestamp, with_top=1 if pages == 0 else 0))
        ).json()
        assert body["message"] == "OK"
        results = body["data"]["results"]
        if not results:
            break
        if pages == 0:
            assert results[0]["art_id"] == world["pinned"] and results[0]["is_top"] == 1
            results = results[1:]
        assert all(item["is_top"] == 0 for item in results)
        assert len(results) <= 10
        seen += [item["art_id"] for item in results]
        timestamp, pages = body["data"]["pre_timestamp"], pages + 1
        if timestamp == 0:
            break
    expected = [i for i in world["ids"] if i != world["pinned"]]
    assert seen == expected  # newest first, each once, pinned not repeated


async def test_item_fields(client, runtime, world):
    await counters.ARTICLE_COMMENTS.incr(runtime.store, world["ids"][0], 4)
    body = (await client.get(feed_url(world["go"], ms(NOW), 0))).json()["data"]
    item = body["results"][0]
    assert set(item) == {
        "art_id",
        "title",
        "aut_id",
        "aut_name",
        "comm_count",
        "pubdate",
        "is_top",
        "cover",
        "trace",
    }
    assert (
        item["art_id"] == world["ids"][0] and item["comm_count"] == 4 and item["aut_name"] == "作者"
    )
    assert item["cover"] == {"type": 0, "images": []}
    assert set(item["trace"]) == {"click", "collect", "share", "read"}
    assert item["pubdate"] == (NOW - timedelta(hours=1)).isoformat()  # the real publish time
    # the batch's exposure, in the behaviour log's stream of exposures (the fold never reads it)
    [(_, exposure)] = await runtime.store.xrange(reco_keys.EXPOSURES)
    shown = json.loads(json.loads(exposure["param"])["articleId"])
    assert exposure["action"] == "exposure" and shown == [r["art_id"] for r in body["results"]]
    assert await runtime.store.xlen(reco_keys.EVENTS) == 0


async def test_channel_zero_is_all_channels(client, world):
    results = (await client.get(feed_url(0, ms(NOW), 0))).json()["data"]["results"]
    assert results[0]["art_id"] == world["other"]


async def test_withdrawn_articles_disappear(client, runtime, world):
    from sqlalchemy import update

    from toutiao.article import cache as article_cache
    from toutiao.models import Article
    from toutiao.models.enums import ArticleStatus

    async with runtime.db.session() as session:
        await session.execute(
            update(Article)
            .where(Article.article_id == world["ids"][0])
            .values(status=ArticleStatus.DELETED)
        )
        await session.commit()
    await article_cache.article_changed(runtime.cache, runtime.store, world["ids"][0])
    results = (await client.get(feed_url(world["go"], ms(NOW), 0))).json()["data"]["results"]
    assert world["ids"][0] not in [r["art_id"] for r in results]


@pytest.mark.parametrize(
    "query",
    [
        "channel_id=1&with_top=1",
        "channel_id=1&timestamp=0&with_top=1",
        "channel_id=1&timestamp=-5&with_top=1",
        "channel_id=1&timestamp=abc&with_top=1",
        "channel_id=1&timestamp=1700000000000&with_top=2",
        "channel_id=1&timestamp=1700000000000",
        "channel_id=999&timestamp=1700000000000&with_top=1",
        "channel_id=x&timestamp=1700000000000&with_top=1",
        "timestamp=1700000000000&with_top=1",
    ],
)
async def test_bad_parameters(client, world, query):
    assert_error(await client.get("/app/v1_1/articles?" + query), 400)


async def test_missing_parameters_are_each_named(client, world):
    for url, message in [
        ("/app/v1_1/articles?with_top=1", "channel_id: Field required; timestamp: Field required"),
        ("/app/v1_1/articles?channel_id=1&timestamp=1&with_top=", "with_top: must be 0 or 1"),
        ("/app/v1_0/articles?page=2", "channel_id: Field required"),
    ]:
        response = await client.get(url)
        assert_error(response, 400)
        assert response.json()["message"] == message


async def test_a_bad_token_is_401_before_a_bad_query(client, world):
    for url in ("/app/v1_1/articles?with_top=1", "/app/v1_0/articles?page=x"):
        assert_error(await client.get(url, headers={"Authorization": "Bearer bad"}), 401)


async def test_bad_token_is_401_and_anony_is_fine(client, world):
    assert_error(
        await client.get(feed_url(world["go"], ms(NOW)), headers={"Authorization": "Bearer bad"}),
        401,
    )
    assert (
        await client.get(feed_url(world["go"], ms(NOW)), headers={"Authorization": "Anony dev-1"})
    ).status_code == 200


async def test_v1_0_pages(client, world):
    first = (
        await client.get(f"/app/v1_0/articles?channel_id={world['go']}&page=1&per_page=5")
    ).json()["data"]
    assert first["page"] == 1 and first["per_page"] == 5
    assert first["results"][0]["art_id"] == world["pinned"] and len(first["results"]) == 6
    second = (await client.get(f"/app/v1_0/articles?channel_id={world['go']}&page=2")).json()[
        "data"
    ]
    assert all(item["is_top"] == 0 for item in second["results"])
    assert_error(await client.get(f"/app/v1_0/articles?channel_id={world['go']}&per_page=51"), 400)
    assert_error(await client.get("/app/v1_0/articles"), 400)


async def test_pages_are_exactly_their_documented_models(client, world):
    """The feeds write their pages without FastAPI's response validation: each body must be
    what its response model would have written (no field more, none less, same types)."""
    cases = [
        (feed_url(world["go"], ms(NOW), 1), Envelope[FeedPage]),
        (feed_url(0, ms(NOW), 0), Envelope[FeedPage]),
        (f"/app/v1_0/articles?channel_id={world['go']}&page=1&per_page=5", Envelope[FeedV10Page]),
    ]
    for url, model in cases:
        response = await client.get(url, headers={"Authorization": "Anony model-check"})
        assert response.status_code == 200 and response.headers["content-type"] == (
            "application/json"
        )
        body = response.json()
        assert body["data"]["results"]
        assert model.model_validate(body).model_dump(mode="json") == body


class TestDetail:
    async def test_anonymous(self, client, runtime, world):
        article_id = world["ids"][0]
        response = await client.get(
            f"/app/v1_0/articles/{article_id}", headers={"Trace": "anything"}
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (
            data["art_id"] == article_id
            and data["title"] == "go 0"
            and data["content"] == "<p>正文</p>"
        )
        assert (data["is_followed"], data["attitude"], data["is_collected"]) == (False, -1, False)
        assert data["aut_name"] == "作者" and data["aut_photo"] is None
        assert article_id not in [r["art_id"] for r in data["recomments"]]
        assert 0 < len(data["recomments"]) <= 5 and all(
            set(r) == {"art_id", "title", "tracking"} for r in data["recomments"]
        )
        # The read counters and the click are buffered in the process, then flushed.
        assert await counters.ARTICLE_READS.get(runtime.store, article_id) == 0
        assert await events.flush_buffered(runtime.store) == 1
        await activity.flush(runtime.store)
        assert await counters.ARTICLE_READS.get(runtime.store, article_id) == 1
        assert await counters.USER_READS.get(runtime.store, world["author"].user_id) == 1
        (_, click), *_ = await runtime.store.xrevrange(reco_keys.EVENTS, count=1)
        assert (click["action"], click["article_id"], click["param"]) == (
            "click",
            str(article_id),
            "anything",
        )

    async def test_logged_in_flags_history_and_figure(self, client, runtime, factory, world):
        reader = await factory.user()
        headers = factory.headers(reader.user_id)
        article_id = world["ids"][1]
        await client.post(
            "/app/v1_0/user/followings", json={"target": world["author"].user_id}, headers=headers
        )
        await client.post("/app/v1_0/article/likings", json={"target": article_id}, headers=headers)
        await client.post(
            "/app/v1_0/article/collections", json={"target": str(article_id)}, headers=headers
        )
        data = (await client.get(f"/app/v1_0/articles/{article_id}", headers=headers)).json()[
            "data"
        ]
        assert (data["is_followed"], data["attitude"], data["is_collected"]) == (True, 1, True)
        await client.post(
            "/app/v1_0/article/dislikes", json={"target": article_id}, headers=headers
        )
        data = (await client.get(f"/app/v1_0/articles/{article_id}", headers=headers)).json()[
            "data"
        ]
        assert data["attitude"] == 0
        history = (await client.get("/app/v1_0/user/histories", headers=headers)).json()["data"]
        assert [r["art_id"] for r in history["results"]] == [article_id]
        author_headers = factory.headers(world["author"].user_id)
        await activity.flush(runtime.store)  # the reads counted in the process, every 2 s
        figure = (await client.get("/app/v1_0/user/figure", headers=author_headers)).json()["data"]
        assert figure == {"fans_count": 1, "read_count": 2}

    async def test_an_edit_or_a_withdrawal_shows_at_once(self, client, runtime, world):
        from sqlalchemy import update

        from toutiao.article import cache as article_cache
        from toutiao.models import Article, ArticleContent
        from toutiao.models.enums import ArticleStatus

        article_id = world["ids"][2]
        url = f"/app/v1_0/articles/{article_id}"
        assert (await client.get(url)).json()["data"]["content"] == "<p>正文</p>"
        async with runtime.db.session() as session:
            await session.execute(
                update(ArticleContent)
                .where(ArticleContent.article_id == article_id)
                .values(content="<p>改过</p>")
            )
            await session.commit()
        await article_cache.article_changed(runtime.cache, runtime.store, article_id)
        assert (await client.get(url)).json()["data"]["content"] == "<p>改过</p>"
        async with runtime.db.session() as session:
            await session.execute(
                update(Article)
                .where(Article.article_id == article_id)
                .values(status=ArticleStatus.BANNED)
            )
            await session.commit()
        await article_cache.article_changed(runtime.cache, runtime.store, article_id)
        assert_error(await client.get(url), 404)

    async def test_missing_and_unapproved_are_404(self, client, factory, world):
        from toutiao.models.enums import ArticleStatus

        draft = await factory.article(
            world["author"].user_id, world["go"], status=ArticleStatus.DRAFT
        )
        assert_error(await client.get(f"/app/v1_0/articles/{draft}"), 404)
        assert_error(await client.get("/app/v1_0/articles/123456789"), 404)
        assert_error(await client.get("/app/v1_0/articles/abc"), 404)


async def test_reads_keep_working_when_redis_is_down(settings, world):
    """Redis unreachable: feed, detail, channels and profiles answer from the database."""
    import httpx
    from asgi_lifespan import LifespanManager

    from toutiao.main import create_app

    down = settings.model_copy(
        update={
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "REDIS_STORAGE_URL": "redis://127.0.0.1:1/0",
            "REDIS_SOCKET_TIMEOUT": 0.5,
        }
    )
    app = create_app(down)
    async with LifespanManager(app, startup_timeout=30) as manager:  # both Redis roles down
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = await http.get(feed_url(world["go"], ms(NOW)))
            assert page.status_code == 200, page.text
            results = page.json()["data"]["results"]  # pinned ids live in Redis: none today
            assert [r["art_id"] for r in results] == world["ids"][:10]
            detail = await http.get(f"/app/v1_0/articles/{world['ids'][0]}")
            assert detail.status_code == 200 and detail.json()["data"]["aut_name"] == "作者"
            assert (await http.get("/app/v1_0/channels")).status_code == 200
            assert (await http.get(f"/app/v1_0/users/{world['author'].user_id}")).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Anony phone-1"}])
async def test_anonymous_readers_page_like_everyone_else(client, world, headers):
    """Issue: a reader without a header got the same batch with ``pre_timestamp: 0`` on every
    pull. Now every pull (here from the local recall: no recommender) brings articles the
    previous one did not show, and ``pre_timestamp`` leads to older ones."""
    start = ms(datetime.now())
    pages = []
    for pull in range(8):
        body = (await client.get(feed_url(world["go"], start + pull, 0), headers=headers)).json()
        pages.append(body["data"])
    for n, page in enumerate(pages):
        ids = [r["art_id"] for r in page["results"]]
        assert ids and world["pinned"] not in ids and page["pre_timestamp"] > 0
        if n:
            assert not set(ids) & {r["art_id"] for r in pages[n - 1]["results"]}
    scrolled = (
        await client.get(feed_url(world["go"], pages[-1]["pre_timestamp"], 0), headers=headers)
    ).json()["data"]
    last = {r["art_id"] for r in pages[-1]["results"]}
    assert scrolled["results"] and not {r["art_id"] for r in scrolled["results"]} & last


async def test_fresh_pulls_skip_what_was_shown_beyond_the_newest_batches(client, factory, world):
    """The local recall (no recommender here; with one, its stand-in when the recommender is
    late) skips every article the reader was shown lately, not only the newest
    ``RECENT_BATCHES`` batches: five fresh pulls show fifty different articles. Once the
    channel has nothing unseen left, pulls still answer (repeats are all there is)."""
    (big,) = await factory.channels(["big"])
    for n in range(52):
        await factory.article(
            world["author"].user_id, big.channel_id, pubdate=NOW - timedelta(minutes=n + 1)
        )
    headers = {"Authorization": "Anony many-pulls"}
    start, shown = ms(datetime.now()), []
    for pull in range(history.RECENT_BATCHES + 2):
        body = (await client.get(feed_url(big.channel_id, start + pull, 0), headers=headers)).json()
        shown += [r["art_id"] for r in body["data"]["results"]]
    assert len(shown) == 10 * (history.RECENT_BATCHES + 2) and len(set(shown)) == len(shown)
    for pull in range(2):  # two articles left, then none: batches keep coming
        body = await client.get(feed_url(big.channel_id, start + 10 + pull, 0), headers=headers)
        assert body.json()["data"]["results"]


async def test_a_queue_written_late_never_serves_what_the_fallback_showed(
    client, factory, runtime, world
):
    """A recommender call that missed the feed's deadline still queues what it ranked, and the
    local recall may have served some of it meanwhile: the queue is written without what the
    reader was shown after the ranking began, and later pulls serve the rest."""
    (big,) = await factory.channels(["late"])
    ids = [
        await factory.article(
            world["author"].user_id, big.channel_id, pubdate=NOW - timedelta(minutes=n + 1)
        )
        for n in range(60)
    ]
    headers = {"Authorization": "Anony late-queue"}
    start, pulls = ms(datetime.now()), []
    for pull in range(5):  # the local recall (no recommender here), newest first
        body = (await client.get(feed_url(big.channel_id, start + pull, 0), headers=headers)).json()
        pulls.append([r["art_id"] for r in body["data"]["results"]])
    first, unseen = pulls[0], ids[50:60]
    assert not set(unseen) & {a for p in pulls for a in p}
    # the queue of a recommender call that ranked before the first pull and wrote after it
    async with runtime.store.pipeline(transaction=False) as pipe:
        waiting.queue_waiting(
            pipe,
            "anon:late-queue",
            big.channel_id,
            [(a, "recent") for a in first + unseen],
            ranked_at_ms=start - 1000,
        )
        await pipe.execute()
    body = (await client.get(feed_url(big.channel_id, start + 5, 0), headers=headers)).json()
    assert [r["art_id"] for r in body["data"]["results"]] == unseen
    queue = reco_keys.waiting("anon:late-queue", big.channel_id)
    assert await runtime.store.zcount(queue, 0, "+inf") == 0  # no article left (tags may stay)


async def test_another_device_has_its_own_history(client, world):
    start = ms(datetime.now())
    first = await client.get(feed_url(world["go"], start, 0), headers={"User-Agent": "a"})
    other = await client.get(feed_url(world["go"], start + 1, 0), headers={"User-Agent": "b"})
    assert [r["art_id"] for r in first.json()["data"]["results"]] == [
        r["art_id"] for r in other.json()["data"]["results"]
    ]


@pytest.mark.parametrize("blocker", ["reader", "author"])
async def test_the_fallback_hides_blacklisted_authors_and_disliked_articles(
    client, factory, world, blocker
):
    """With no recommender, the local recall still keeps out a blacklist relation (either
    direction) and what the reader disliked."""
    other = await factory.user(name="另一位作者")
    kept = [
        await factory.article(
            other.user_id, world["go"], title=f"other {n}", pubdate=NOW - timedelta(minutes=n + 1)
        )
        for n in range(3)
    ]
    reader = await factory.user()
    headers = factory.headers(reader.user_id)
    blocked, target = (
        (reader, world["author"]) if blocker == "reader" else (world["author"], reader)
    )
    response = await client.post(
        "/app/v1_0/user/blacklists",
        json={"target": target.user_id},
        headers=factory.headers(blocked.user_id),
    )
    assert response.status_code == 201
    response = await client.post(
        "/app/v1_0/article/dislikes", json={"target": kept[0]}, headers=headers
    )
    assert response.status_code == 201
    seen: list[int] = []
    for _ in range(3):
        body = (await client.get(feed_url(world["go"], ms(NOW), 0), headers=headers)).json()
        seen += [item["art_id"] for item in body["data"]["results"]]
    assert seen and set(seen) <= set(kept[1:])
