from __future__ import annotations

from sqlalchemy import func, select

from toutiao.models import OperationLog


def assert_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}
    assert isinstance(body["message"], str) and body["message"]


async def log_rows(runtime, operation: str | None = None) -> list[OperationLog]:
    async with runtime.db.primary_read_session() as session:
        stmt = select(OperationLog).order_by(OperationLog.operation_log_id)
        if operation is not None:
            stmt = stmt.where(OperationLog.operation == operation)
        return list((await session.scalars(stmt)).all())


async def log_count(runtime) -> int:
    async with runtime.db.primary_read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(OperationLog)))
