"""Every /mis route, walked: its permission code is enforced on the next request after a
change of grants, and a write records one operation-log row exactly when it succeeds."""

from __future__ import annotations

import re

from tests.api.mis.helpers import log_count
from toutiao.api.mis.routing import LOGIN_ONLY, PUBLIC, REFRESH, WRITE_METHODS
from toutiao.api.routing import walk_routes
from toutiao.main import create_app
from toutiao.staff.catalog import ALL_CODES


def mis_routes(settings) -> list[tuple[str, str, str]]:
    """``(method, path with ids filled in, permission)`` of every /mis route."""
    found = []
    for path, route in walk_routes(create_app(settings).routes):
        if not path.startswith("/mis/"):
            continue
        concrete = re.sub(r"\{(\w+)(:\w+)?\}", "424242", path)
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, concrete, route.rule.permission))
    return found


async def test_every_code_is_checked_on_the_next_request(client, runtime, settings, staff):
    routes = mis_routes(settings)
    assert len(routes) >= 24
    member = await staff.member(sorted(ALL_CODES))
    headers = staff.headers_for(member)
    checked = 0
    for method, path, permission in routes:
        if permission in (PUBLIC, REFRESH, LOGIN_ONLY):
            continue
        await staff.set_codes(member.group_id, sorted(ALL_CODES - {permission}))
        body = {} if method in WRITE_METHODS else None
        before = await log_count(runtime)
        denied = await client.request(method, path, json=body, headers=headers)
        assert denied.status_code == 403, (method, path, denied.text)
        assert await log_count(runtime) == before, (method, path)
        await staff.set_codes(member.group_id, sorted(ALL_CODES))
        allowed = await client.request(method, path, json=body, headers=headers)
        assert allowed.status_code not in (401, 403), (method, path, allowed.text)
        rows = await log_count(runtime) - before
        if method in WRITE_METHODS:
            assert rows == (1 if allowed.status_code < 300 else 0), (method, path, allowed.text)
        checked += 1
    assert checked >= 20


async def test_login_only_routes_need_a_token_but_no_code(client, settings, staff):
    headers = await staff.headers()
    for method, path, permission in mis_routes(settings):
        if permission != LOGIN_ONLY:
            continue
        anonymous = await client.request(method, path, json={})
        assert anonymous.status_code == 401, (method, path)
        member = await client.request(method, path, json={}, headers=headers)
        assert member.status_code not in (401, 403), (method, path, member.text)


def test_every_catalog_code_guards_a_route_or_belongs_to_a_later_endpoint(settings):
    used = {permission for _, _, permission in mis_routes(settings)}
    assert used - {PUBLIC, REFRESH, LOGIN_ONLY} <= ALL_CODES
