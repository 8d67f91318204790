"""Sensitive words (mis.md M57-M61): what holds a submission for human review."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import PagingDep, check_order
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Body
from toutiao.api.responses import no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import StrictInt
from toutiao.content import repository, words

router = GatedRouter(route_class=StaffRoute)
PATH = "/v1_0/sensitive_words"


@router.get(PATH, name="mis.sensitive_words")
@requires("sensitive-word-list-get")
async def list_words(
    session: ReadSessionDep,
    paging: PagingDep,
    word: Annotated[str | None, Query(max_length=50)] = None,
    order_by: Annotated[str | None, Query(description="id")] = None,
) -> dict[str, Any]:
    """M57: the word list, last update first (or by id)."""
    by_id = check_order(order_by, ("id",)) == "id"
    rows, total = await repository.word_page(
        session, word or None, by_id=by_id, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body("words", [words.word_json(r) for r in rows], total))


class WordBody(Body):
    word: str
    weights: StrictInt


@router.post(PATH, name="mis.sensitive_words_create", status_code=201)
@requires("sensitive-word-list-post")
async def create_word(
    body: WordBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M58: add a word (unique whatever its case) with its weight."""
    row = await words.create(
        runtime, session, words.clean_word(body.word), words.clean_weights(body.weights)
    )
    log.log("sensitive_word.create", f"add sensitive word {row.id} (weight {row.weights})")
    return ok(words.word_json(row))


@router.get(f"{PATH}/{{target:id}}", name="mis.sensitive_word")
@requires("sensitive-word-get")
async def get_word(target: int, session: ReadSessionDep) -> dict[str, Any]:
    """M59: one word."""
    return ok(words.word_json(await words.get(session, target)))


class WordEditBody(Body):
    word: str | None = None
    weights: StrictInt | None = None


@router.put(f"{PATH}/{{target:id}}", name="mis.sensitive_word_update", status_code=201)
@requires("sensitive-word-put")
async def update_word(
    target: int, body: WordEditBody, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M60: edit the word and/or its weight (0 is a valid weight)."""
    row = await words.edit(
        runtime,
        session,
        target,
        word=None if body.word is None else words.clean_word(body.word),
        weights=None if body.weights is None else words.clean_weights(body.weights),
    )
    fields = ", ".join(n for n in ("word", "weights") if getattr(body, n) is not None)
    log.log("sensitive_word.update", f"update sensitive word {target}: {fields or 'nothing'}")
    return ok(words.word_json(row))


@router.delete(
    f"{PATH}/{{target:id}}",
    name="mis.sensitive_word_delete",
    status_code=204,
    response_class=Response,
)
@requires("sensitive-word-delete")
async def delete_word(
    target: int, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> Response:
    """M61: delete a word (204 also when it does not exist)."""
    await words.remove(runtime, session, target)
    log.log("sensitive_word.delete", f"delete sensitive word {target}")
    return no_content()
