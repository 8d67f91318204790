"""The operations console API (``/mis``, mis.md): staff sign-in, accounts and moderation.

Every route of this package is a ``StaffRoute`` (routing.py): declare who may call it with
``@requires(...)`` right under the router decorator, take the caller as ``CurrentStaff`` and
write the one operation-log row of a write with ``AuditDep`` (deps.py). Shared input rules
(ids, id lists, flags, paging, date ranges, keywords, ``order_by``) are in params.py.
"""

from toutiao.api.mis.endpoints import (
    administrators,
    announcements,
    articles,
    auth,
    channels,
    comments,
    groups,
    legalizes,
    operationlogs,
    permissions,
    reports,
    sensitive_words,
    statistics,
    users,
)
from toutiao.api.mis.routing import StaffRoute
from toutiao.api.routing import GatedRouter

router = GatedRouter(route_class=StaffRoute)
for module in (
    auth,
    administrators,
    groups,
    permissions,
    operationlogs,
    users,
    legalizes,
    channels,
    articles,
    comments,
    reports,
    announcements,
    statistics,
    sensitive_words,
):
    router.include_router(module.router, tags=["mis"])
