"""Expected failures of follow-ups, each with a stable code and a status."""

from __future__ import annotations

from yutang.kit.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class FollowUpRuleNotFound(NotFound):
    code = "follow_up_rule_not_found"


class InvalidFollowUpRule(InvalidInput):
    code = "invalid_follow_up_rule"


class FollowUpTaskNotFound(NotFound):
    """No such task, or not one the viewer may see."""

    code = "follow_up_task_not_found"


class FollowUpTaskClosed(Conflict):
    """The task is done or skipped already."""

    code = "follow_up_task_closed"


class FollowUpNotYours(PermissionDenied):
    """Staff work their own tasks; a manager may close any task of the store."""

    code = "follow_up_not_yours"


class InvalidNextContact(InvalidInput):
    code = "invalid_next_contact"
