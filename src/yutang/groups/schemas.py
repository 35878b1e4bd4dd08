"""Groups' public shapes (the API contract: keep field names)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yutang.groups.models import GroupStatus

DEFAULT_NAME_PATTERN = "{name}{n}群"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GroupCreate(_In):
    store_code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    owner_username: str | None = Field(default=None, max_length=64,
                                       description="The staff owner; default: the caller "
                                                   "(a console user)")
    capacity: int | None = Field(default=None, ge=1, le=500,
                                 description="Default: the store's group capacity (50)")
    wecom_chat_id: str | None = Field(default=None, min_length=1, max_length=64)
    code_id: int | None = Field(default=None, description="A group code to route into it")


class MemberIn(_In):
    customer_id: int
    joined_at: datetime | None = None


class MemberLeaveIn(_In):
    customer_id: int
    left_at: datetime | None = None


class GroupCodeCreate(_In):
    store_code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    owner_username: str | None = Field(default=None, max_length=64,
                                       description="Owner of the groups it opens; default: "
                                                   "the owner of its first group, or the caller")
    campaign: str | None = Field(default=None, max_length=64)
    name_pattern: str = Field(default=DEFAULT_NAME_PATTERN, min_length=3, max_length=100,
                              description="{name}, {store} and {n} are filled in; {n} needed")
    auto_open: bool = True
    capacity: int | None = Field(default=None, ge=1, le=500)
    group_ids: list[int] = Field(default_factory=list, max_length=500,
                                 description="Existing groups of the store it routes into")

    @field_validator("name_pattern")
    @classmethod
    def _numbered(cls, value: str) -> str:
        if "{n}" not in value:
            raise ValueError("the name pattern must contain {n}")
        return value


class ScanIn(_In):
    customer_id: int


class ProbeCreate(_In):
    packets: int = Field(gt=0, le=1000)
    amount_fen: int = Field(default=0, ge=0, le=10**9)
    sent_at: datetime | None = None


class ClaimIn(_In):
    customer_id: int | None = None
    claimed_at: datetime | None = None


class GroupRuleIn(_In):
    probe_claim_minutes: int = Field(ge=1, le=24 * 60)
    min_active_share_percent: int = Field(ge=0, le=100)
    window_weeks: int = Field(ge=1, le=26)


class StoreCapacityIn(_In):
    capacity: int = Field(ge=1, le=500)


class DeadGroupAction(_In):
    action: str = Field(pattern="^(revive|merge|dismiss)$")
    content: str | None = Field(default=None, max_length=200,
                                description="revive: the content that will revive it")
    target_group_id: int | None = Field(default=None, description="merge: the group to merge "
                                                                  "into")


class HealthRead(BaseModel):
    """What the dead-group rule saw in the group over its window, as of a moment."""

    status: str
    """``alive``, ``dead`` or ``unjudged`` (too young for the activity rule, no probe)."""
    reason: str | None = None
    members: int
    active_members: int
    active_share: float
    latest_probe_id: int | None = None
    latest_probe_passed: bool | None = None
    window_start: datetime
    as_of: datetime


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    store_code: str
    owner_user_id: int
    owner_username: str
    name: str
    capacity: int
    members_count: int
    room: int
    status: GroupStatus
    code_id: int | None
    wecom_chat_id: str | None
    created_at: datetime
    dead_since: datetime | None
    dead_reason: str | None
    merged_into_id: int | None
    health: HealthRead | None = None


class GroupPage(BaseModel):
    items: list[GroupRead]
    total: int
    page: int
    size: int


class MemberRead(BaseModel):
    customer_id: int | None
    """``None`` for a caller who sees pseudonymous ids only (``customer_ref`` then)."""
    customer_ref: str
    status: str
    first_joined_at: datetime
    joined_at: datetime
    left_at: datetime | None
    source: str


class GroupCodeRead(BaseModel):
    id: int
    store_id: int
    store_code: str
    owner_user_id: int
    name: str
    campaign: str | None
    name_pattern: str
    auto_open: bool
    capacity: int
    is_active: bool
    opened_groups: int
    scans: int
    groups: list[GroupRead]


class ScanRead(BaseModel):
    """The group the customer should join (their seat is taken)."""

    code_id: int
    customer_id: int
    already_member: bool
    opened_new_group: bool
    group: GroupRead


class ProbeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    sent_at: datetime
    packets: int
    amount_fen: int
    claimed: int
    last_claim_at: datetime | None
    seconds_to_last_claim: int | None
    fully_claimed: bool


class WeekHealth(BaseModel):
    """One ISO week (Asia/Shanghai) of a group."""

    week: str
    """``2026-W43``."""
    week_start: date
    messages: int
    active_members: int
    members_at_end: int
    active_share: float
    new_members: int
    lost_members: int
    probes: int
    packets_sent: int
    packets_claimed: int
    seconds_to_last_claim: int | None
    """The longest time to the last claim among the week's fully claimed probes."""


class GroupRuleRead(BaseModel):
    probe_claim_minutes: int
    min_active_share_percent: int
    window_weeks: int
    saved: bool


class EvaluationRead(BaseModel):
    as_of: datetime
    judged: int
    dead: int
    newly_dead: int
    back_alive: int
    dead_group_ids: list[int]


class SyncRead(BaseModel):
    read: int
    applied: int
    skipped: int
    last_event_id: int


class Suggestion(BaseModel):
    action: str
    """``revive``, ``merge`` or ``dismiss``."""
    target_group_id: int | None = None
    target_group_name: str | None = None


class DeadGroupRead(BaseModel):
    group: GroupRead
    suggestion: Suggestion
