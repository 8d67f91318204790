"""The operations walk of issue 9 ("How this will be checked"), over HTTP, against mis.md.

As a new staff member would: sign in as the super-admin, create a reviewer group holding
only the article-list and review codes (``article-list-get``, ``article-get``,
``article-list-put``) and a reviewer in it; an author submits two articles through /mp
(auto-approval off); the reviewer approves one and rejects the other, and the results show
in /app (detail, search, a fresh feed batch, the author's list and counter) and in /mp
(status, reject reason); the reviewer is refused (403) on staff management and on freezing
users; the super-admin freezes an app user, whose access and refresh tokens fail on the very
next request; every one of those writes is read back from the operation log; the dashboard
(M56), the article list (M37) and the user list (M24) agree with what was done.

``tests/e2e/test_mis_walk.py`` runs it against the application in-process. Against a real
server (``toutiao serve --demo`` with ``TOUTIAO_MP_AUTO_APPROVE=false``)::

    python -m tests.e2e.mis_walk --base http://127.0.0.1:8000

It waits for ``/readyz`` (a fresh demo start builds its indexes first), prints each step
and exits non-zero at the first disagreement.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

MIS = "/mis/v1_0"
MP = "/mp/v1_0"
APP = "/app/v1_0"
DEMO_CODE = "246810"
REVIEWER_CODES = ("article-list-get", "article-get", "article-list-put")


class WalkFailed(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise WalkFailed(what)


@dataclass
class Walk:
    http: httpx.AsyncClient
    admin: str = "admin"
    password: str = "admin246810"
    say: Callable[[str], None] = print
    # runs the statistics roll-up (in-process); None: poll the dashboard up to rollup_wait s
    rollup: Callable[[], Awaitable[None]] | None = None
    rollup_wait: float = 0.0
    index_wait: float = 15.0  # search index and recommender pools follow within 10 s
    steps: list[str] = field(default_factory=list)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def ok(self, step: str) -> None:
        self.steps.append(step)
        self.say(f"ok  {step}")

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        expect: int,
        **kwargs: Any,
    ) -> Any:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.http.request(method, path, headers=headers, **kwargs)
        check(
            response.status_code == expect,
            f"{method} {path}: expected {expect}, got {response.status_code} {response.text[:300]}",
        )
        if expect == 204 or not response.content:
            return None
        body = response.json()
        check(isinstance(body.get("message"), str), f"{method} {path}: message not a string")
        if expect >= 400:
            check("data" not in body, f"{method} {path}: an error with data")
            return None
        return body["data"]

    # -- the pieces ---------------------------------------------------------------------------

    async def staff_login(self, account: str, password: str) -> dict[str, Any]:
        body = {"account": account, "password": password}
        data: dict[str, Any] = await self.call(
            "POST", f"{MIS}/authorizations", json=body, expect=201
        )
        return data

    async def sms_login(self, surface: str, mobile: str, expect: int = 201) -> dict[str, Any]:
        path = f"{APP}/authorizations" if surface == "app" else f"{MP}/authorizations"
        data: dict[str, Any] = await self.call(
            "POST", path, json={"mobile": mobile, "code": DEMO_CODE}, expect=expect
        )
        return data

    async def dashboard(self, token: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.call(
            "GET", f"{MIS}/statistics_dashboard", token, expect=200
        )
        return data

    async def total(self, token: str, path: str, **params: Any) -> int:
        data = await self.call("GET", path, token, params={**params, "per_page": 10}, expect=200)
        return int(data["total_count"])

    async def eventually(self, what: str, probe: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + self.index_wait
        while not await probe():
            check(time.monotonic() < deadline, f"{what}: not within {self.index_wait:g} s")
            await asyncio.sleep(0.25)

    async def in_search(self, word: str, article_id: int) -> bool:
        data = await self.call("GET", f"{APP}/search", params={"q": word}, expect=200)
        return article_id in [item["art_id"] for item in data["results"]]

    async def in_fresh_feed(self, channel_id: int, article_id: int) -> bool:
        data = await self.call(
            "GET",
            "/app/v1_1/articles",
            params={"channel_id": channel_id, "timestamp": int(time.time() * 1000), "with_top": 0},
            headers={"Authorization": f"Anony walk-{uuid.uuid4().hex}"},
            expect=200,
        )
        return article_id in [item["art_id"] for item in data["results"]]

    # -- the walk ------------------------------------------------------------------------------

    async def run(self) -> list[str]:
        today = date.today().isoformat()  # noqa: DTZ011 - the server's local day
        admin = await self.staff_login(self.admin, self.password)
        root = admin["token"]
        self.ok(f"super-admin {self.admin} signed in (M02)")

        logs = await self.call(
            "GET", f"{MIS}/operationlogs", root, params={"per_page": 10}, expect=200
        )
        since = max([r["operation_log_id"] for r in logs["operationlogs"]], default=0)
        before = await self.dashboard(root)

        # a reviewer group with only the article-list and review codes, and a reviewer in it
        points: dict[str, int] = {}

        def walk_tree(nodes: list[dict[str, Any]]) -> None:
            for node in nodes:
                if node["type"] == 1 and node["code"]:
                    points[node["code"]] = node["permission_id"]
                walk_tree(node["children"])

        walk_tree(admin["permission_tree"])
        check(all(code in points for code in REVIEWER_CODES), "review codes missing in the tree")
        group = await self.call(
            "POST",
            f"{MIS}/groups",
            root,
            json={
                "name": f"审核组{self.tag}",
                "remark": "review only",
                "permission_ids": [points[c] for c in REVIEWER_CODES],
            },
            expect=201,
        )
        reviewer_account = f"rev{self.tag}"
        reviewer_password = f"Review{self.tag}1"
        created = await self.call(
            "POST",
            f"{MIS}/administrators",
            root,
            json={
                "account": reviewer_account,
                "password": reviewer_password,
                "name": "审核员",
                "group_id": group["group_id"],
            },
            expect=201,
        )
        check(created["group_id"] == group["group_id"], "the reviewer is not in the group")
        reviewer = await self.staff_login(reviewer_account, reviewer_password)
        granted = set()

        def granted_codes(nodes: list[dict[str, Any]]) -> None:
            for node in nodes:
                if node["checked"] and node["type"] == 1:
                    granted.add(node["code"])
                granted_codes(node["children"])

        granted_codes(reviewer["permission_tree"])
        check(granted == set(REVIEWER_CODES), f"the reviewer holds {sorted(granted)}")
        rev = reviewer["token"]
        self.ok(f"group {group['group_id']} with {', '.join(REVIEWER_CODES)}; reviewer signed in")

        # an author submits two articles through /mp; auto-approval is off
        author_mobile = f"137{random.randrange(10**8):08d}"
        author = (await self.sms_login("mp", author_mobile))["token"]
        channels = await self.call("GET", f"{MP}/channels", author, expect=200)
        channel_id = channels["channels"][0]["id"]
        word = f"巡检{self.tag}"
        ids = []
        for n in (1, 2):
            body = {
                "title": f"{word} 第{n}篇 审核",
                "content": f"<p>{word} 的正文，第{n}篇，给审核员看。</p>",
                "cover": {"type": 0, "images": []},
                "channel_id": channel_id,
            }
            made = await self.call(
                "POST", f"{MP}/articles", author, params={"draft": "false"}, json=body, expect=201
            )
            ids.append(int(made["id"]))
        approved_id, rejected_id = ids
        mine = await self.call("GET", f"{MP}/articles", author, params={"page": 1}, expect=200)
        statuses = {item["id"]: item["status"] for item in mine["results"]}
        check(
            statuses == {approved_id: 1, rejected_id: 1},
            f"submitted articles are not pending (auto-approval on?): {statuses}",
        )
        await self.call("GET", f"{APP}/articles/{approved_id}", expect=404)
        self.ok(
            f"author submitted {approved_id} and {rejected_id} through /mp: pending, not in /app"
        )

        # the reviewer finds them in the review queue, approves one and rejects the other
        queue = await self.call(
            "GET",
            f"{MIS}/articles",
            rev,
            params={"status_list": "1", "order_by": "create_time", "title": word},
            expect=200,
        )
        check(
            [a["article_id"] for a in queue["articles"]] == ids and queue["total_count"] == 2,
            f"review queue: {queue}",
        )
        reason = "标题与内容不符"
        done = await self.call(
            "PUT",
            f"{MIS}/articles",
            rev,
            json={"article_ids": [approved_id], "status": 2},
            expect=201,
        )
        check(done == {"count": 1}, f"approve: {done}")
        done = await self.call(
            "PUT",
            f"{MIS}/articles",
            rev,
            json={"article_ids": [rejected_id], "status": 3, "reject_reason": reason},
            expect=201,
        )
        check(done == {"count": 1}, f"reject: {done}")
        await self.call(
            "PUT",
            f"{MIS}/articles",
            rev,
            json={"article_ids": [approved_id], "status": 3},
            expect=409,
        )
        self.ok("reviewer approved one and rejected one (M38); a second review is a 409")

        # /app: the approved one everywhere, the rejected one nowhere
        detail = await self.call("GET", f"{APP}/articles/{approved_id}", expect=200)
        check(detail["title"].startswith(word), "detail title")
        await self.call("GET", f"{APP}/articles/{rejected_id}", expect=404)
        await self.eventually("search finds it", lambda: self.in_search(word, approved_id))
        found = await self.call("GET", f"{APP}/search", params={"q": word}, expect=200)
        check(rejected_id not in [i["art_id"] for i in found["results"]], "rejected one found")
        await self.eventually(
            "a fresh feed batch brings it", lambda: self.in_fresh_feed(channel_id, approved_id)
        )
        profile = await self.call("GET", f"{MP}/user/profile", author, expect=200)
        author_id = int(profile["id"])
        listed = await self.call("GET", f"{APP}/users/{author_id}/articles", expect=200)
        check([i["art_id"] for i in listed["results"]] == [approved_id], f"author list: {listed}")
        shown = await self.call("GET", f"{APP}/users/{author_id}", expect=200)
        check(shown["art_count"] == 1, f"author art_count {shown['art_count']}")
        self.ok("/app: detail, search, fresh feed, author list and art_count show the approval")

        # /mp: statuses and the reason
        mine = await self.call("GET", f"{MP}/articles", author, params={"page": 1}, expect=200)
        by_id = {item["id"]: item for item in mine["results"]}
        check(by_id[approved_id]["status"] == 2, "mp: approved status")
        check(by_id[rejected_id]["status"] == 3, "mp: rejected status")
        check(by_id[rejected_id].get("reject_reason") == reason, "mp: reject reason")
        self.ok("/mp: approved (2), rejected (3) with the reviewer's reason")

        # the reviewer is refused outside their codes
        for method, path, body in (
            ("GET", f"{MIS}/administrators", None),
            ("POST", f"{MIS}/administrators", {"account": "nope1", "password": "x"}),
            ("GET", f"{MIS}/groups", None),
            ("PUT", f"{MIS}/groups/{group['group_id']}", {"name": "x"}),
            ("GET", f"{MIS}/operationlogs", None),
            ("PUT", f"{MIS}/users", {"user_ids": [author_id], "status": 0}),
            ("GET", f"{MIS}/statistics_dashboard", None),
        ):
            await self.call(method, path, rev, json=body, expect=403)
        self.ok("reviewer: 403 on staff accounts, groups, the log, users and statistics")

        # the super-admin freezes an app user: their tokens fail on the very next request
        reader_mobile = f"136{random.randrange(10**8):08d}"
        reader = await self.sms_login("app", reader_mobile)
        me = await self.call("GET", f"{APP}/user", reader["token"], expect=200)
        reader_id = int(me["id"])
        frozen = await self.call(
            "PUT", f"{MIS}/users", root, json={"user_ids": [reader_id], "status": 0}, expect=201
        )
        check(frozen == {"count": 1}, f"freeze: {frozen}")
        await self.call("GET", f"{APP}/user", reader["token"], expect=403)
        await self.call("PUT", f"{APP}/authorizations", reader["refresh_token"], expect=403)
        await self.sms_login("app", reader_mobile, expect=403)
        await self.sms_login("mp", reader_mobile, expect=403)
        user = await self.call("GET", f"{MIS}/users/{reader_id}", root, expect=200)
        check(user["status"] == 0, "M27 shows the user frozen")
        self.ok(f"user {reader_id} frozen: access, refresh and logins refused at once (403)")

        # every write, read back from the operation log
        logs = await self.call(
            "GET",
            f"{MIS}/operationlogs",
            root,
            params={"per_page": 50, "order_by": "id"},
            expect=200,
        )
        rows = [
            r
            for r in reversed(logs["operationlogs"])
            if r["operation_log_id"] > since and r["operation"] != "operationlog.view"
        ]
        root_id, rev_id = admin["administrator_id"], reviewer["administrator_id"]
        seen = [(r["operation"], r["administrator_id"]) for r in rows]
        expected = [
            ("group.create", root_id),
            ("administrator.create", root_id),
            ("login", rev_id),
            ("article.approve", rev_id),
            ("article.reject", rev_id),
            ("user.freeze", root_id),
        ]
        check(seen == expected, f"operation log: {seen}")
        text = " | ".join(r["description"] for r in rows)
        for needle in (str(approved_id), str(rejected_id), reason, str(reader_id)):
            check(needle in text, f"operation log does not mention {needle}: {text}")
        check(all(r["ip"] for r in rows), "operation log rows without ip")
        self.ok("operation log: one row per write, by the right account, naming the ids")

        # statistics: live figures move by exactly what was done
        after = await self.dashboard(root)
        b_tot, a_tot = before["totals"], after["totals"]
        check(a_tot["frozen_user_count"] == b_tot["frozen_user_count"] + 1, "frozen users")
        check(
            a_tot["approved_article_count"] == b_tot["approved_article_count"] + 1,
            "approved articles",
        )
        check(a_tot["user_count"] == b_tot["user_count"] + 2, "users (the author and the reader)")
        check(a_tot["media_user_count"] == b_tot["media_user_count"] + 1, "self-media users")
        check(after["pending"]["article_count"] == before["pending"]["article_count"], "pending")
        day_before = {d["date"]: d for d in before["daily"]}[today]
        day_after = {d["date"]: d for d in after["daily"]}[today]
        check(day_after["new_articles"] == day_before["new_articles"] + 2, "new articles today")
        # the same figures through the lists
        check(
            await self.total(root, f"{MIS}/articles", status_list="2")
            == a_tot["approved_article_count"],
            "M37 approved total != dashboard",
        )
        check(
            await self.total(root, f"{MIS}/articles", status_list="1")
            == after["pending"]["article_count"],
            "M37 pending total != dashboard",
        )
        check(
            await self.total(root, f"{MIS}/users", status="0") == a_tot["frozen_user_count"],
            "M24 frozen total != dashboard",
        )
        self.ok("dashboard totals, pending and new articles agree with M37, M24 and the walk")

        # rolled-up figures (the hourly job): today's approvals and new users
        if self.rollup is not None:
            await self.rollup()
            rolled = {d["date"]: d for d in (await self.dashboard(root))["daily"]}[today]
            check(rolled["approved_articles"] >= 1, f"approved today: {rolled}")
            check(rolled["new_users"] >= 2, f"new users today: {rolled}")
            self.ok("dashboard daily figures after the roll-up count today's approval and users")
        elif self.rollup_wait > 0:
            deadline = time.monotonic() + self.rollup_wait
            while True:
                rolled = {d["date"]: d for d in (await self.dashboard(root))["daily"]}[today]
                if rolled["approved_articles"] > day_before["approved_articles"]:
                    break
                check(time.monotonic() < deadline, "the roll-up did not count the approval")
                await asyncio.sleep(5)
            self.ok("the scheduled roll-up counted today's approval in the dashboard")
        else:
            self.say("--  rolled-up daily figures not waited for (--rollup-wait)")
        return self.steps


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="http://127.0.0.1:8000")
    p.add_argument("--account", default="admin")
    p.add_argument("--password", default="admin246810")
    p.add_argument("--rollup-wait", type=float, default=0.0, help="s to wait for the roll-up")
    p.add_argument("--ready-wait", type=float, default=600.0, help="s to wait for /readyz")
    args = p.parse_args(argv)
    async with httpx.AsyncClient(base_url=args.base, timeout=30) as http:
        # a fresh --demo start answers 503 on /readyz until its indexes are built
        deadline = time.monotonic() + args.ready_wait
        while (await http.get("/readyz")).status_code != 200:
            if time.monotonic() > deadline:
                print(f"FAIL {args.base}/readyz not 200", file=sys.stderr)  # noqa: T201
                return 1
            await asyncio.sleep(2)
        walk = Walk(http, args.account, args.password, rollup_wait=args.rollup_wait)
        try:
            steps = await walk.run()
        except WalkFailed as failed:
            print(f"FAIL {failed}", file=sys.stderr)  # noqa: T201
            return 1
    print(f"walk passed: {len(steps)} steps")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
