"""Who may hear a document's audio: the same rule as for the document itself.

A document is scoped to an organisation's subtree (or to everyone). A member of organisation
X sees it when the scope is X or one of X's ancestors; a committee administrator also hears
the documents of the units under the one they manage, whose audio they may re-render.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sotay_common.auth import Principal, Role


@dataclass(frozen=True)
class AudienceScope:
    """The document's scope as its event gave it (None: everyone)."""

    organization_id: uuid.UUID | None
    ancestor_ids: tuple[uuid.UUID, ...] = ()

    @property
    def managing_units(self) -> tuple[uuid.UUID, ...]:
        """Units whose administrators manage the document's scope."""
        if self.organization_id is None:
            return ()
        return (*self.ancestor_ids, self.organization_id)


def may_listen(
    principal: Principal, scope: AudienceScope, caller_chain: Sequence[uuid.UUID]
) -> bool:
    """`caller_chain`: the caller's organisation followed by its ancestors (empty when the
    organisation is unknown)."""
    if principal.is_system_admin or scope.organization_id is None:
        return True
    if scope.organization_id in caller_chain:
        return True
    return may_manage(principal, scope, caller_chain)


def may_manage(
    principal: Principal, scope: AudienceScope, caller_chain: Sequence[uuid.UUID]
) -> bool:
    """Whether the caller may re-render the audio: system administrators, and committee
    administrators of the scope's unit or one above it (of a root unit for unscoped ones)."""
    if principal.is_system_admin:
        return True
    if not principal.has_any(Role.COMMITTEE_ADMIN) or principal.organization_id is None:
        return False
    if scope.organization_id is None:
        return len(caller_chain) == 1  # the province committee: the root of the tree
    return principal.organization_id in scope.managing_units
