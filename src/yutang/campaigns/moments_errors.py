"""Expected failures of staff Moments, each with a stable code and a status."""

from __future__ import annotations

from yutang.kit.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class InvalidMomentTask(InvalidInput):
    """Copy and template both or neither, stores both chosen and "all", or a store that does
    not exist (``details.field`` names it)."""

    code = "invalid_moment_task"


class MomentCopyUnsuitable(InvalidInput):
    """The copy cannot be posted to Moments: a template of a category that is not for
    Moments, a customer's variable (``{name}``…, ``details.variables``) in a copy every
    friend reads, or a mini-program card."""

    code = "moment_copy_unsuitable"


class MomentDueInPast(InvalidInput):
    code = "moment_due_in_past"


class MomentNoStaff(Conflict):
    """No active staff member in the chosen stores: nobody to post."""

    code = "moment_no_staff"


class MomentTaskNotFound(NotFound):
    """No such task, or none with a staff member of the viewer's store."""

    code = "moment_task_not_found"


class MomentPostNotFound(NotFound):
    """The staff member is not assigned to that task (or not one the actor may see)."""

    code = "moment_post_not_found"


class MomentPostNotYours(PermissionDenied):
    """Staff mark their own posts; a manager may mark posts of the store's staff."""

    code = "moment_post_not_yours"


class MomentTaskExpired(Conflict):
    """The task's due time has passed: a post still pending can no longer be marked."""

    code = "moment_task_expired"


class MomentStaffRequired(InvalidInput):
    """An API key is nobody's login: it must name the staff member whose post it marks."""

    code = "moment_staff_required"
