"""news_article_basic (create_time): staff article lists newest or oldest first across
statuses (mis M37 without a status or with several) and creation-time ranges. With the
primary key InnoDB appends, the index is the lists' order (create_time, article_id): a page
is read from its first entries instead of sorting every matching row.

Revision ID: 0003_article_create_time
Revises: 0002_article_outbox
Create Date: 2026-12-03 11:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_article_create_time"
down_revision: str | Sequence[str] | None = "0002_article_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "news_article_basic"
INDEX = "ix_news_article_basic_create_time"


def upgrade() -> None:
    op.create_index(op.f(INDEX), TABLE, ["create_time"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f(INDEX), table_name=TABLE)
