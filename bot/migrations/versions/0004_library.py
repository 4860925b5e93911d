"""Weekly digest and the prompt library (issue 6).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Library items, template uses, digest settings, weeks, posts and clicks."""
    op.create_table(
        "library_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("tenant", "kind", "slug", name="uq_library_item_slug"),
    )
    op.create_index("ix_library_items_status", "library_items", ["tenant", "kind", "status"])
    op.create_table(
        "prompt_uses",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("user_pseudonym", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_prompt_uses_tenant_time", "prompt_uses", ["tenant", "used_at"])
    op.create_index("ix_prompt_uses_template", "prompt_uses", ["tenant", "template_id"])
    op.create_table(
        "digest_settings",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("featured_pick", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "digest_weeks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.String(64), nullable=True),
        sa.Column("tip_cycle", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "iso_year", "iso_week", name="uq_digest_week"),
    )
    op.create_table(
        "digest_posts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.UniqueConstraint("tenant", "channel", "iso_year", "iso_week", name="uq_digest_post"),
    )
    op.create_table(
        "digest_clicks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user_pseudonym", sa.String(32), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_digest_clicks_week", "digest_clicks", ["tenant", "iso_year", "iso_week"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_index("ix_digest_clicks_week", table_name="digest_clicks")
    op.drop_table("digest_clicks")
    op.drop_table("digest_posts")
    op.drop_table("digest_weeks")
    op.drop_table("digest_settings")
    op.drop_index("ix_prompt_uses_template", table_name="prompt_uses")
    op.drop_index("ix_prompt_uses_tenant_time", table_name="prompt_uses")
    op.drop_table("prompt_uses")
    op.drop_index("ix_library_items_status", table_name="library_items")
    op.drop_table("library_items")
