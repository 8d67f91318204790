"""Connecting to the Socket.IO server (app.md §4.1; reference §14.36).

A real ``socketio.AsyncClient`` against the server uvicorn runs on a loopback port.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import socketio

from toutiao.engines.mq import user_room
from toutiao.models.enums import UserStatus
from toutiao.user.tokens import issue_token

pytestmark = pytest.mark.usefixtures("runtime")


def rooms_of(im, client) -> list[str]:
    return sorted(im.sio.rooms(client.sio.get_sid()))


class TestAccepted:
    async def test_token_joins_the_user_room(self, im, clients, factory):
        user = await factory.user()
        client = await clients()
        await client.connect(im.url, f"token={issue_token(factory.runtime.settings, user.user_id)}")
        assert client.sio.connected
        assert rooms_of(im, client) == sorted([client.sio.get_sid(), user_room(user.user_id)])

    async def test_anonymous_gets_only_its_own_room(self, im, clients, factory):
        victim = await factory.user()
        client = await clients()
        await client.connect(im.url, f"a={victim.user_id}")
        assert rooms_of(im, client) == [client.sio.get_sid()]

    async def test_token_wins_over_anonymous_id(self, im, clients, factory):
        user = await factory.user()
        client = await clients()
        token = issue_token(factory.runtime.settings, user.user_id)
        await client.connect(im.url, f"a=device-1&token={token}")
        assert user_room(user.user_id) in rooms_of(im, client)

    async def test_auth_payload_and_bearer_prefix_are_accepted(self, im, clients, factory):
        user = await factory.user()
        client = await clients()
        token = issue_token(factory.runtime.settings, user.user_id)
        await client.connect(im.url, auth={"token": f"Bearer {token}"})
        assert user_room(user.user_id) in rooms_of(im, client)

    @pytest.mark.parametrize("path", ["socket.io", "app/socket.io"])
    @pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
    async def test_paths_and_transports(self, im, clients, path, transports):
        client = await clients()
        await client.connect(
            im.url, "a=device-1", socketio_path=path, transports=transports or None
        )
        assert client.sio.connected
        assert client.sio.transport() == (transports or ["websocket"])[0]
        # A polling client's own disconnect waits for its pending long-poll (up to ~30 s).
        await im.sio.disconnect(client.sio.get_sid())

    async def test_http_api_is_served_on_the_same_port(self, im):
        response = await im.http.get("/app/v1_0/channels")
        assert response.status_code == 200


class TestRefused:
    async def refused(self, im, clients, query: str = "", **kwargs) -> str:
        client = await clients()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(im.url, query, **kwargs)
        assert not client.sio.connected
        assert not im.sio.manager.rooms.get("/")  # nobody joined anything
        assert isinstance(client.refusal, dict)
        return str(client.refusal["message"])

    async def test_no_identity(self, im, clients):
        assert "required" in await self.refused(im, clients)
        assert "required" in await self.refused(im, clients, "token=&a=")

    @pytest.mark.parametrize("token", ["garbage", "a.b.c", "Bearer"])
    async def test_bad_token(self, im, clients, token):
        await self.refused(im, clients, f"token={token}")

    async def test_bad_token_is_refused_even_with_an_anonymous_id(self, im, clients):
        await self.refused(im, clients, "token=garbage&a=device-1")

    async def test_expired_token(self, im, clients, factory):
        user = await factory.user()
        past = datetime.now(UTC) - timedelta(days=1)
        token = issue_token(factory.runtime.settings, user.user_id, now=past)
        await self.refused(im, clients, f"token={token}")

    async def test_refresh_token(self, im, clients, factory):
        user = await factory.user()
        token = issue_token(factory.runtime.settings, user.user_id, refresh=True)
        assert "invalid token" in await self.refused(im, clients, f"token={token}")

    async def test_token_signed_with_another_secret(self, im, clients, factory):
        user = await factory.user()
        other = factory.runtime.settings.model_copy(update={"JWT_SECRET": "x" * 40})
        await self.refused(im, clients, f"token={issue_token(other, user.user_id)}")

    async def test_disabled_and_unknown_users(self, im, clients, factory):
        disabled = await factory.user(status=UserStatus.DISABLED)
        settings = factory.runtime.settings
        assert "denied" in await self.refused(
            im, clients, f"token={issue_token(settings, disabled.user_id)}"
        )
        assert "denied" in await self.refused(im, clients, f"token={issue_token(settings, 4242)}")

    async def test_overlong_anonymous_id(self, im, clients):
        await self.refused(im, clients, "a=" + "x" * 65)
