"""Names: a new account is not named after its mobile, and names hold no control characters."""

from __future__ import annotations

import pytest

from tests.api.app.test_auth import assert_error
from toutiao.user.names import check_name, default_name, public_name


async def _login(client, runtime, mobile: str) -> dict[str, str]:
    await runtime.store.set(f"app:code:{mobile}", "123456")
    response = await client.post(
        "/app/v1_0/authorizations", json={"mobile": mobile, "code": "123456"}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['token']}"}


async def test_new_account_name_is_not_its_mobile(client, runtime):
    mobile = "13700001234"
    headers = await _login(client, runtime, mobile)
    me = (await client.get("/app/v1_0/user", headers=headers)).json()["data"]
    assert mobile not in me["name"] and me["name"].startswith("用户")
    other = (await client.get(f"/app/v1_0/users/{me['id']}")).json()
    assert mobile not in str(other)
    profile = (await client.get("/app/v1_0/user/profile", headers=headers)).json()["data"]
    assert profile["mobile"] == mobile  # only the owner sees it


async def test_comments_do_not_show_an_old_accounts_mobile(client, factory):
    """Accounts made before the rule (name == mobile) are shown with the default name."""
    author = await factory.user(name="作者")
    (channel,) = await factory.channels(["c"])
    article_id = await factory.article(author.user_id, channel.channel_id)
    old = await factory.user(mobile="13600005678", name="13600005678")
    response = await client.post(
        "/app/v1_0/comments",
        json={"target": article_id, "content": "hello"},
        headers=factory.headers(old.user_id),
    )
    assert response.status_code == 201, response.text
    listing = await client.get(f"/app/v1_0/comments?type=a&source={article_id}")
    assert listing.status_code == 200
    assert "13600005678" not in listing.text
    card = await client.get(f"/app/v1_0/users/{old.user_id}")
    assert "13600005678" not in card.text
    assert card.json()["data"]["name"] == default_name(old.user_id)


@pytest.mark.parametrize(
    "name",
    ["a\x00b", "a\nb", "t\tb", "\u202eevil", "x\u2066y", "a\u2028b", "\x7f", "a\u200fb"],
)
async def test_control_and_bidi_characters_in_names_are_400(client, factory, name):
    user = await factory.user()
    response = await client.patch(
        "/app/v1_0/user/profile", json={"name": name}, headers=factory.headers(user.user_id)
    )
    assert_error(response, 400)


def test_check_name_keeps_ordinary_names():
    for name in ("小明", "Zoë", "👨‍👩‍👧", "a b"):
        assert check_name(name) == name
    with pytest.raises(ValueError, match="U\\+202E"):
        check_name("\u202e")


def test_default_names_are_stable_and_short():
    assert default_name(42) == default_name(42) != default_name(43)
    assert len(default_name(2**62)) == 7
    assert public_name(5, "13911111111", "13911111111") == default_name(5)
    assert public_name(5, "小明", "13911111111") == "小明"
