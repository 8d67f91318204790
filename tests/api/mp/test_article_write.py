"""Writing articles through /mp: create, update, delete, comment switch (mp.md §3.8-§3.11,
§6.1-§6.3), with the checks, the sanitiser and the cover rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api.mp.conftest import assert_error
from toutiao.models import Article, ArticleContent, ArticleStatistic, SensitiveWord
from toutiao.models.enums import ArticleStatus

S = ArticleStatus


async def row(runtime, article_id: int) -> tuple[Article, str]:
    async with runtime.db.session() as session:
        article = await session.get(Article, article_id)
        content = await session.scalar(
            select(ArticleContent.content).where(ArticleContent.article_id == article_id)
        )
    return article, content


class TestAuthClass:
    async def test_token_problems_are_401(self, client, author, runtime, factory):
        for headers in (
            {},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": "Basic abc"},
            factory.headers(author.id, refresh=True),
            factory.headers(2**40),  # a user who does not exist
        ):
            assert_error(await client.get("/mp/v1_0/articles", headers=headers), 401)

    async def test_disabled_account_is_403(self, client, factory, author):
        from toutiao.models.enums import UserStatus

        frozen = await factory.user(status=UserStatus.DISABLED)
        assert_error(
            await client.get("/mp/v1_0/articles", headers=factory.headers(frozen.user_id)), 403
        )
        response = await client.post(
            "/mp/v1_0/articles", json=author.body(), headers=factory.headers(frozen.user_id)
        )
        assert_error(response, 403)


class TestCreate:
    async def test_draft(self, author, runtime):
        response = await author.create(draft=True)
        assert response.status_code == 201, response.text
        assert set(response.json()["data"]) == {"id"}
        article, content = await row(runtime, response.json()["data"]["id"])
        assert article.status == S.DRAFT and article.user_id == author.id
        assert content == "<p>正文内容</p>" and article.allow_comment is True
        async with runtime.db.session() as session:
            assert await session.get(ArticleStatistic, article.article_id) is not None

    async def test_publish_goes_to_review(self, author, runtime):
        article, _ = await row(runtime, await author.create_id())
        assert article.status == S.PENDING and article.pubdate is None

    async def test_draft_parameter_absent_means_publish(self, author, client, runtime):
        response = await client.post(
            "/mp/v1_0/articles", json=author.body(), headers=author.headers
        )
        article, _ = await row(runtime, response.json()["data"]["id"])
        assert article.status == S.PENDING

    async def test_auto_approve(self, author, runtime, auto_approve):
        article, _ = await row(runtime, await author.create_id())
        assert article.status == S.APPROVED and article.pubdate is not None

    @pytest.mark.parametrize("value", ["yes", "2", ""])
    async def test_bad_draft_flag(self, author, client, value):
        response = await client.post(
            f"/mp/v1_0/articles?draft={value}", json=author.body(), headers=author.headers
        )
        assert_error(response, 400)

    async def test_draft_flag_accepts_1_and_0(self, author, client, runtime):
        for value, status in (("1", S.DRAFT), ("0", S.PENDING)):
            response = await client.post(
                f"/mp/v1_0/articles?draft={value}", json=author.body(), headers=author.headers
            )
            assert (await row(runtime, response.json()["data"]["id"]))[0].status == status

    @pytest.mark.parametrize(
        "changes",
        [
            {"title": "四个字的"},
            {"title": "长" * 31},
            {"title": "     "},
            {"title": None},
            {"content": ""},
            {"content": "<p></p>"},
            {"content": "<p><br></p>  "},
            {"content": "<script>alert(1)</script>"},
            {"content": "<p onclick='x()'></p><iframe src='http://evil'></iframe>"},
            {"channel_id": 987654},
            {"channel_id": "abc"},
            {"channel_id": None},
            {"cover": {"type": 2, "images": []}},
            {"cover": {"type": "x", "images": []}},
            {"cover": {"type": 1, "images": ["http://elsewhere.example/a.png"]}},
        ],
    )
    async def test_invalid_is_400(self, author, changes):
        assert_error(await author.create(draft=True, **changes), 400)
        assert_error(await author.create(draft=False, **changes), 400)

    async def test_missing_fields_are_400(self, author, client):
        for field in ("title", "content", "channel_id"):
            body = author.body()
            del body[field]
            response = await client.post("/mp/v1_0/articles", json=body, headers=author.headers)
            assert_error(response, 400)

    async def test_too_large_content(self, author, runtime):
        runtime.settings.MP_CONTENT_MAX_BYTES = 100
        try:
            assert_error(await author.create(content="<p>" + "x" * 200 + "</p>"), 400)
        finally:
            runtime.settings.MP_CONTENT_MAX_BYTES = 1024 * 1024

    async def test_extra_keys_ignored(self, author, runtime):
        article_id = await author.create_id(agree=True, id="123", status=2, pubdate="x")
        article, _ = await row(runtime, article_id)
        assert article.article_id != 123 and article.status == S.PENDING

    async def test_sanitised(self, author, runtime):
        image = author.image("ok")
        content = (
            '<p onclick="steal()">hi<script>alert(1)</script>'
            '<a href="javascript:alert(1)">link</a>'
            f'<img src="{image}" onerror="x()"><img src="javascript:alert(2)">'
            '<img src="http://tracker.example/pixel.gif">'
            '<span style="color: red; position: fixed">red</span></p>'
            "<h3>title</h3><pre><code>code</code></pre><style>p{}</style>"
        )
        _, stored = await row(runtime, await author.create_id(content=content))
        assert "script" not in stored and "onclick" not in stored and "onerror" not in stored
        assert "javascript:" not in stored and "tracker.example" not in stored
        assert "position" not in stored and "<style" not in stored
        assert f'<img src="{image}">' in stored
        assert '<span style="color:red">red</span>' in stored
        assert "<h3>title</h3><pre><code>code</code></pre>" in stored
        assert "hi" in stored and "link" in stored


class TestCover:
    @pytest.mark.parametrize(
        ("cover", "expected"),
        [
            ({"type": 0, "images": ["a"]}, (0, [])),
            ({"type": 1, "images": [None, "", "a", "b"]}, (1, ["a"])),
            ({"type": 3, "images": ["a", None, "b", "c", "d"]}, (3, ["a", "b", "c"])),
        ],
    )
    async def test_normalised(self, author, runtime, cover, expected):
        images = [author.image(i) if i else i for i in cover["images"]]
        article_id = await author.create_id(cover={"type": cover["type"], "images": images})
        article, _ = await row(runtime, article_id)
        assert article.cover == {
            "type": expected[0],
            "images": [author.image(i) for i in expected[1]],
        }

    @pytest.mark.parametrize(
        ("count", "expected_type", "expected_count"),
        [(0, 0, 0), (1, 1, 1), (2, 1, 1), (3, 3, 3), (5, 3, 3)],
    )
    async def test_automatic(self, author, runtime, count, expected_type, expected_count):
        urls = [author.image(f"c{i}") for i in range(count)]
        content = "<p>text</p>" + "".join(f'<p><img src="{u}"></p>' for u in urls)
        article_id = await author.create_id(content=content, cover={"type": -1, "images": []})
        article, _ = await row(runtime, article_id)
        assert article.cover == {"type": expected_type, "images": urls[:expected_count]}

    async def test_publish_needs_enough_images_but_draft_may_lack(self, author, runtime):
        assert_error(await author.create(cover={"type": 1, "images": [None]}), 400)
        assert_error(await author.create(cover={"type": 3, "images": [author.image("a")]}), 400)
        article_id = await author.create_id(
            draft=True, cover={"type": 3, "images": [author.image("a")]}
        )
        article, _ = await row(runtime, article_id)
        assert article.cover == {"type": 3, "images": [author.image("a")]}


class TestUpdate:
    async def test_replaces_everything(self, author, runtime, channel_ids):
        article_id = await author.create_id(draft=True)
        response = await author.update(
            article_id,
            draft=True,
            title="新的标题在这里",
            content="<p>新的正文</p>",
            cover={"type": 1, "images": [author.image("n")]},
            channel_id=channel_ids[1],
        )
        assert response.status_code == 201, response.text
        assert response.json()["data"] == {"id": article_id}
        article, content = await row(runtime, article_id)
        assert (article.title, content, article.channel_id) == (
            "新的标题在这里",
            "<p>新的正文</p>",
            channel_ids[1],
        )
        assert article.cover == {"type": 1, "images": [author.image("n")]}

    async def test_detail_sent_back_as_body(self, author, client):
        article_id = await author.create_id(draft=True)
        detail = (await author.get(article_id)).json()["data"]
        detail["id"] = str(article_id + 1)
        detail["title"] = "改过的标题啊"
        response = await client.put(
            f"/mp/v1_0/articles/{article_id}?draft=true", json=detail, headers=author.headers
        )
        assert response.status_code == 201
        assert (await author.get(article_id)).json()["data"]["title"] == "改过的标题啊"

    async def test_rejected_goes_back_to_review_without_reason(self, author, runtime):
        article_id = await author.create_id()
        async with runtime.db.session() as session:
            article = await session.get(Article, article_id)
            article.status, article.reject_reason = S.REJECTED, "不合适"
            await session.commit()
        assert (await author.update(article_id)).status_code == 201
        article, _ = await row(runtime, article_id)
        assert article.status == S.PENDING and article.reject_reason is None

    async def test_deleted_is_400_and_others_404(self, author, other_author):
        article_id = await author.create_id()
        assert_error(await other_author.update(article_id), 404)
        assert (await author.delete(article_id)).status_code == 204
        assert_error(await author.update(article_id), 400)
        assert_error(await author.update(article_id + 1), 404)

    async def test_invalid_is_400_and_changes_nothing(self, author, runtime):
        article_id = await author.create_id(draft=True)
        assert_error(await author.update(article_id, content="<p></p>"), 400)
        assert (await row(runtime, article_id))[1] == "<p>正文内容</p>"


class TestDelete:
    async def test_soft_delete_is_idempotent(self, author, runtime):
        article_id = await author.create_id()
        response = await author.delete(article_id)
        assert response.status_code == 204 and response.content == b""
        article, _ = await row(runtime, article_id)
        assert article.status == S.DELETED and article.delete_time is not None
        assert (await author.delete(article_id)).status_code == 204

    async def test_another_authors_or_missing_is_404(self, author, other_author, runtime):
        article_id = await author.create_id()
        assert_error(await other_author.delete(article_id), 404)
        assert_error(await author.delete(123456789), 404)
        assert (await row(runtime, article_id))[0].status == S.PENDING

    async def test_path_that_is_not_an_id_is_404(self, author, client):
        for path in ("abc", "0", "-1", "1.5"):
            response = await client.delete(f"/mp/v1_0/articles/{path}", headers=author.headers)
            assert response.status_code == 404


class TestCommentSwitch:
    async def test_switch(self, author, client, runtime):
        article_id = await author.create_id()
        response = await client.put(
            f"/mp/v1_0/comments/status?article_id={article_id}",
            json={"allow_comment": False},
            headers=author.headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["data"] == {"article_id": article_id, "allow_comment": False}
        assert (await row(runtime, article_id))[0].allow_comment is False

    async def test_app_refuses_comments_once_off(
        self, author, client, runtime, factory, auto_approve
    ):
        article_id = await author.create_id()
        await client.put(
            f"/mp/v1_0/comments/status?article_id={article_id}",
            json={"allow_comment": False},
            headers=author.headers,
        )
        reader = await factory.user()
        response = await client.post(
            "/app/v1_0/comments",
            json={"target": article_id, "content": "first"},
            headers=factory.headers(reader.user_id),
        )
        assert response.status_code in (400, 403)

    @pytest.mark.parametrize(
        ("query", "body"),
        [
            ("", {"allow_comment": True}),
            ("?article_id=abc", {"allow_comment": True}),
            ("?article_id={id}", {}),
            ("?article_id={id}", {"allow_comment": "yes"}),
            ("?article_id={id}", {"allow_comment": 1}),
        ],
    )
    async def test_bad_input_is_400(self, author, client, query, body):
        article_id = await author.create_id()
        response = await client.put(
            "/mp/v1_0/comments/status" + query.format(id=article_id),
            json=body,
            headers=author.headers,
        )
        assert_error(response, 400)

    async def test_deleted_400_others_404(self, author, other_author, client):
        article_id = await author.create_id()
        url = f"/mp/v1_0/comments/status?article_id={article_id}"
        body = {"allow_comment": False}
        assert_error(await client.put(url, json=body, headers=other_author.headers), 404)
        await author.delete(article_id)
        assert_error(await client.put(url, json=body, headers=author.headers), 400)


class TestLimits:
    async def test_writes_per_author(self, author, runtime):
        runtime.settings.MP_WRITE_RATE_PER_USER = "2/minute"
        try:
            await author.create_id(draft=True)
            await author.create_id(draft=True)
            assert_error(await author.create(draft=True), 429)
            assert (await author.list()).status_code == 200  # reads are not limited
        finally:
            runtime.settings.MP_WRITE_RATE_PER_USER = "60/minute"


class TestSensitiveWords:
    async def test_held_for_review_even_with_auto_approve(self, author, runtime, auto_approve):
        from toutiao.content import sensitive

        async with runtime.db.session() as session:
            session.add_all(
                [SensitiveWord(word="Casino", weights=6), SensitiveWord(word="赌博", weights=5)]
            )
            await session.commit()
        await sensitive.invalidate(runtime)
        light = await author.create_id(content="<p>a casino only</p>")
        assert (await row(runtime, light))[0].status == S.APPROVED
        held = await author.create_id(title="关于赌博的标题", content="<p>CASINO night</p>")
        assert (await row(runtime, held))[0].status == S.PENDING
        async with runtime.db.session() as session:
            counts = dict(
                (await session.execute(select(SensitiveWord.word, SensitiveWord.hold_count))).all()
            )
        assert counts == {"Casino": 1, "赌博": 1}


class TestAuditTrail:
    async def test_author_writes_are_logged_with_the_user(self, author, client, caplog):
        caplog.set_level("INFO", logger="toutiao.audit")
        article_id = await author.create_id(draft=True)
        await author.update(article_id, draft=True)
        await client.put(
            f"/mp/v1_0/comments/status?article_id={article_id}",
            json={"allow_comment": False},
            headers=author.headers,
        )
        await author.delete(article_id)
        lines = [r.getMessage() for r in caplog.records if r.name == "toutiao.audit"]
        who = f"actor=author:{author.id} articles={article_id}"
        for event in ("create", "update", "comments_off", "delete"):
            assert any(line.startswith(f"article.{event} ") and who in line for line in lines), (
                event,
                lines,
            )
