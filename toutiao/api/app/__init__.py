"""The mobile app API (``/app``): routers of every endpoint module, one per domain."""

from toutiao.api.app.endpoints import (
    announcement,
    article,
    article_actions,
    article_lists,
    auth,
    channel,
    comment,
    imtest,
    relation,
    search,
    user,
)
from toutiao.api.routing import GatedRouter

router = GatedRouter()
# A request's route is found by trying each in turn, so the most requested come first: the
# feeds and the article detail, then comments (their paths overlap no other module's).
router.include_router(article.router, tags=["news"])
router.include_router(comment.router, tags=["news"])
router.include_router(auth.router, tags=["user"])
router.include_router(user.router, tags=["user"])
router.include_router(channel.router, tags=["news"])
router.include_router(relation.router, tags=["user"])
router.include_router(announcement.router, tags=["notice"])
router.include_router(article_actions.router, tags=["news"])
router.include_router(article_lists.router, tags=["news"])
router.include_router(imtest.router, tags=["im"])
router.include_router(search.router, tags=["search"])
