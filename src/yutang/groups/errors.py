"""Expected failures of groups, each with a stable code (the public contract) and a status."""

from __future__ import annotations

from yutang.kit.errors import Conflict, InvalidInput, NotFound


class GroupNotFound(NotFound):
    """Also raised for a group of another store than a store-scoped caller's."""

    code = "group_not_found"


class GroupCodeNotFound(NotFound):
    code = "group_code_not_found"


class ProbeNotFound(NotFound):
    code = "probe_not_found"


class OwnerNotFound(NotFound):
    """The owner must be an active staff user of the group's store (or of HQ)."""

    code = "group_owner_not_found"


class InvalidGroup(InvalidInput):
    code = "invalid_group"


class InvalidGroupRule(InvalidInput):
    code = "invalid_group_rule"


class NoGroupAvailable(Conflict):
    """Every group of the code is full and the code may not open another one."""

    code = "no_group_available"


class GroupFull(Conflict):
    code = "group_full"


class GroupClosed(Conflict):
    """Dismissed or merged: nobody joins it any more."""

    code = "group_closed"


class GroupCodeClosed(Conflict):
    code = "group_code_closed"


class NotAMember(Conflict):
    code = "not_a_group_member"


class GroupNotDead(Conflict):
    code = "group_not_dead"


class MergeTargetInvalid(Conflict):
    """The target is the group itself, of another store, closed, or has too little room."""

    code = "group_merge_target_invalid"


class WeComChatTaken(Conflict):
    code = "wecom_chat_taken"
