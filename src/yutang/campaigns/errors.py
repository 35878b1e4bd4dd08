"""Expected failures of campaigns, each with a stable code (the public contract) and a status."""

from __future__ import annotations

from yutang.kit.errors import Conflict, InvalidInput, NotFound


class InvalidSegmentRule(InvalidInput):
    """A node of a segment's rule tree is malformed; ``details.path`` names it
    (``$.all[1].value``)."""

    code = "invalid_segment_rule"


class SegmentNotFound(NotFound):
    code = "segment_not_found"


class SegmentNameTaken(Conflict):
    code = "segment_name_taken"


class ContentNotFound(NotFound):
    code = "content_not_found"


class InvalidContent(InvalidInput):
    code = "invalid_content"


class UnknownTemplateVariable(InvalidInput):
    """The body uses a ``{variable}`` the library does not know (``details.variables``)."""

    code = "unknown_template_variable"


class ContentNotApproved(Conflict):
    """Only approved content can be scheduled."""

    code = "content_not_approved"


class CampaignNotFound(NotFound):
    code = "campaign_not_found"


class InvalidCampaign(InvalidInput):
    code = "invalid_campaign"


class CampaignNotActive(Conflict):
    code = "campaign_not_active"


class CustomerNotFoundForPreview(NotFound):
    """The preview's customer does not exist or is not visible to the viewer."""

    code = "preview_customer_not_found"
