"""The self-media API (``/mp``): what authors use to sign in, write and publish articles.

Every route is named ``mp.*`` (route names are the OpenAPI operation ids, shared with
``/app``) and tagged ``mp: ...`` so /docs lists the two surfaces apart.
"""

from toutiao.api.mp.endpoints import (
    article,
    auth,
    channel,
    comment_actions,
    image,
    login_support,
    moderation,
    profile,
    statistics,
)
from toutiao.api.routing import GatedRouter

router = GatedRouter()
router.include_router(auth.router, tags=["mp: account"])
router.include_router(login_support.router, tags=["mp: account"])
router.include_router(profile.router, tags=["mp: account"])
router.include_router(channel.router, tags=["mp: articles"])
router.include_router(article.router, tags=["mp: articles"])
router.include_router(image.router, tags=["mp: images"])
router.include_router(moderation.router, tags=["mp: comments"])
router.include_router(comment_actions.router, tags=["mp: comments"])
router.include_router(statistics.router, tags=["mp: statistics"])

# Where the image library's direct, cross-origin upload posts (mp.md §1.1).
DIRECT_UPLOAD_PATH = "/mp/v1_0/user/images"
