"""The access stage's policy: who may use the bot, and the consent gate.

Access is ``everyone`` or ``restricted`` (members of listed user groups, or anyone in listed
channels; admins always). With consent on, a staff member who has not accepted the current
guideline version gets the guideline and an 「同意して利用する」 button instead of an answer; no
model is called until they press it. The terminal chat is run by an operator on the server
itself and has no chat identity: it is exempt from both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.gateway import Stop
from bot.messages import message
from bot.turn import Button, Turn

if TYPE_CHECKING:
    from bot.admin.service import AdminService

#: The action id of the consent button (the Slack handler listens for it).
CONSENT_ACTION = "madoguchi_consent_accept"


class AdminAccess:
    """Implements ``AccessPolicy`` from bot/gateway.py with the admins' settings."""

    def __init__(self, admin: AdminService) -> None:
        self.admin = admin

    async def refusal(self, turn: Turn) -> str | None:
        """None when ``turn.user`` may go on; a message, or Stop with the consent button."""
        if turn.channel_type == "terminal":
            return None
        admin = self.admin
        lang = admin.lang
        config = await admin.store.config(turn.tenant)
        if not await admin.may_use(turn.tenant, turn.user, turn.channel, config):
            return message("access_denied", lang)
        consent = config.consent
        if consent.enabled and not await admin.records.has_consented(
            turn.tenant, admin.pseudonym(turn.user), consent.version
        ):
            raise Stop(
                "refused",
                "consent_required",
                admin.guideline_prompt(config, lang),
                buttons=(
                    Button(
                        CONSENT_ACTION,
                        message("consent_button", lang),
                        value=str(consent.version),
                        primary=True,
                    ),
                ),
            )
        return None
