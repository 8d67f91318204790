"""/openapi.json says what the server does: bearer security per operation, 400 not 422, and
the error statuses and body limits each operation really has."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query, Request

from toutiao.api.app.deps import OptionalViewer, get_optional_viewer
from toutiao.api.openapi import auth_doc, build_openapi
from toutiao.api.query import QueryParam, query_doc
from toutiao.config import Settings


@pytest.fixture
async def spec(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


async def test_no_422_anywhere_and_every_error_is_the_message_envelope(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        assert "422" not in responses, (path, method)
        for status, response in responses.items():
            if status.startswith(("4", "5")) and path.startswith(("/app/", "/mp/", "/mis/")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Message"}, (path, status)


async def test_bearer_scheme_per_operation(spec):
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = spec["paths"]
    assert paths["/app/v1_0/user"]["get"]["security"] == [{"bearer": []}]
    assert paths["/app/v1_0/users/{target}"]["get"]["security"] == [{}, {"bearer": []}]
    assert "security" not in paths["/app/v1_0/channels"]["get"]
    assert "security" not in paths["/app/v1_0/authorizations"]["post"]
    assert paths["/app/v1_0/authorizations"]["put"]["security"] == [{"bearer": []}]
    assert paths["/mp/v1_0/articles"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/mis/v1_0/authorizations"]["post"]
    assert paths["/mis/v1_0/channels"]["get"]["security"] == [{"bearer": []}]
    for path, method, operation in _operations(spec):
        if operation.get("security") == [{"bearer": []}]:
            assert {"401", "403"} & set(operation["responses"]), (path, method)


async def test_real_error_statuses(spec):
    paths = spec["paths"]
    login = paths["/app/v1_0/authorizations"]["post"]["responses"]
    assert {"400", "403", "413", "429", "503", "507"} <= set(login)
    me = paths["/app/v1_0/user"]["get"]["responses"]
    assert {"401", "403", "503", "507"} <= set(me) and "413" not in me
    article = paths["/app/v1_0/articles/{article_id}"]["get"]["responses"]
    assert "404" in article
    mp_write = paths["/mp/v1_0/articles"]["post"]
    assert "429" in mp_write["responses"] and mp_write["x-max-body-bytes"] > 2 * 1024 * 1024


def test_a_route_that_reads_its_own_query_is_documented_as_if_it_declared_it():
    """The feeds read their query and caller themselves (``toutiao.api.query``): their
    document must be what FastAPI writes for the same parameters and auth declared."""
    app = FastAPI()

    @app.get("/declared", operation_id="declared")
    async def declared(
        viewer: OptionalViewer,
        channel_id: Annotated[str, Query(description="which channel")],
        page: Annotated[str, Query()] = "1",
    ) -> None: ...

    params = (QueryParam("channel_id", "which channel"), QueryParam("page", default="1"))

    @app.get(
        "/read",
        operation_id="read",
        openapi_extra={**query_doc(*params), **auth_doc(get_optional_viewer)},
    )
    async def read(request: Request) -> None: ...

    paths = build_openapi(app, Settings(env="development"))["paths"]
    assert paths["/read"]["get"].pop("operationId") == "read"
    assert paths["/declared"]["get"].pop("operationId") == "declared"
    for path in ("/read", "/declared"):
        paths[path]["get"].pop("summary")
    assert paths["/read"]["get"] == paths["/declared"]["get"]
    assert paths["/read"]["get"]["security"] == [{}, {"bearer": []}]
