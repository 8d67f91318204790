"""/openapi.json describes the mp image, profile and comment routes, rate limits included."""

from __future__ import annotations

WRITES = {
    ("post", "/mp/v1_0/user/images"),
    ("put", "/mp/v1_0/user/images/{image_id}"),
    ("delete", "/mp/v1_0/user/images/{image_id}"),
    ("patch", "/mp/v1_0/user/profile"),
    ("patch", "/mp/v1_0/user/photo"),
    ("put", "/mp/v1_0/comments/{comment_id}/sticky"),
    ("delete", "/mp/v1_0/comments/{comment_id}"),
    ("post", "/mp/v1_0/comments"),
    ("post", "/mp/v1_0/comment/likings"),
    ("delete", "/mp/v1_0/comment/likings/{target}"),
    ("get", "/mp/v1_0/sms/codes/{mobile}"),
}
READS = {
    ("get", "/mp/v1_0/user/images"),
    ("get", "/mp/v1_0/user/profile"),
    ("get", "/mp/v1_0/comments"),
    ("get", "/mp/v1_0/followers"),
    ("get", "/mp/v1_0/statistics/summary"),
    ("get", "/mp/v1_0/statistics/followers"),
    ("get", "/mp/v1_0/articles/{article_id}/statistics"),
}


async def test_documented_with_mp_tags_and_their_errors(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for method, path in WRITES | READS:
        operation = paths[path][method]
        assert all(tag.startswith("mp: ") for tag in operation["tags"]), (method, path)
        assert ("429" in operation["responses"]) == ((method, path) in WRITES), (method, path)
    assert "401" in paths["/mp/v1_0/user/images"]["post"]["responses"]
