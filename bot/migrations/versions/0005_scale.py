"""Multi-workspace installations and coordination (issue 7).

Slack OAuth installations (tokens sealed), OAuth state values, and the database fallback of
bot.coordination: leases (shared locks, per-user concurrency) and counters.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the installation, OAuth state, lease and counter tables."""
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("enterprise_name", sa.String(200), nullable=True),
        sa.Column("team_name", sa.String(200), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=True),
        sa.Column("bot_user_id", sa.String(32), nullable=True),
        sa.Column("bot_scopes", sa.String(1000), nullable=False),
        sa.Column("bot_token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("bot_refresh_token_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("installer_pseudonym", sa.String(64), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("client_id", "enterprise_id", "team_id", name="uq_slack_installation"),
    )
    op.create_index("ix_slack_installations_tenant", "slack_installations", ["tenant"])
    op.create_table(
        "slack_oauth_states",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_slack_oauth_states_expires_at", "slack_oauth_states", ["expires_at"])
    op.create_table(
        "coordination_leases",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("slot", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_coordination_leases_expires_at", "coordination_leases", ["expires_at"])
    op.create_table(
        "coordination_counters",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_coordination_counters_expires_at", "coordination_counters", ["expires_at"])


def downgrade() -> None:
    """Drop the tables this revision created."""
    op.drop_index("ix_coordination_counters_expires_at", table_name="coordination_counters")
    op.drop_table("coordination_counters")
    op.drop_index("ix_coordination_leases_expires_at", table_name="coordination_leases")
    op.drop_table("coordination_leases")
    op.drop_index("ix_slack_oauth_states_expires_at", table_name="slack_oauth_states")
    op.drop_table("slack_oauth_states")
    op.drop_index("ix_slack_installations_tenant", table_name="slack_installations")
    op.drop_table("slack_installations")
