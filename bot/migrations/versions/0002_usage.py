"""Usage events, feedback and report figures (issue 4).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the usage, entity-count and feedback tables."""
    op.create_table(
        "usage_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_pseudonym", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.Column("thread_key", sa.String(64), nullable=True),
        sa.Column("department", sa.String(128), nullable=True),
        sa.Column("channel_type", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_kind", sa.String(64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("tokens_estimated", sa.Boolean(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("first_token_ms", sa.Integer(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("template_id", sa.String(128), nullable=True),
        sa.Column("new_conversation", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_usage_events_tenant_time", "usage_events", ["tenant", "time"])
    op.create_index("ix_usage_events_thread_key", "usage_events", ["thread_key"])
    op.create_index("ix_usage_events_time", "usage_events", ["time"])
    op.create_table(
        "usage_entities",
        sa.Column(
            "event_id",
            sa.String(32),
            sa.ForeignKey("usage_events.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("entity_type", sa.String(32), primary_key=True),
        sa.Column("masked", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "usage_feedback",
        sa.Column("event_id", sa.String(32), primary_key=True),
        sa.Column("user_pseudonym", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("minutes_saved", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_usage_feedback_tenant_updated", "usage_feedback", ["tenant", "updated_at"])


def downgrade() -> None:
    """Drop the usage tables (the records are gone with them)."""
    op.drop_index("ix_usage_feedback_tenant_updated", table_name="usage_feedback")
    op.drop_table("usage_feedback")
    op.drop_table("usage_entities")
    op.drop_index("ix_usage_events_time", table_name="usage_events")
    op.drop_index("ix_usage_events_thread_key", table_name="usage_events")
    op.drop_index("ix_usage_events_tenant_time", table_name="usage_events")
    op.drop_table("usage_events")
