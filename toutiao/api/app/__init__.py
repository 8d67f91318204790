"""The mobile app API (``/app``): routers of every endpoint module, one per domain."""

from fastapi import APIRouter

from toutiao.api.app.endpoints import auth, channel, user

router = APIRouter()
router.include_router(auth.router, tags=["user"])
router.include_router(user.router, tags=["user"])
router.include_router(channel.router, tags=["news"])
