async def test_route_map(client):
    r = await client.get("/app/")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body, dict) and "message" not in body
    assert any(v.startswith("/v1_0/") for v in body.values())
