"""Every table of every domain, for migrations and for tests."""

from __future__ import annotations

from sqlalchemy import MetaData

from yutang.access import models as access_models
from yutang.campaigns import follow_ups_models, moments_models
from yutang.campaigns import models as campaigns_models
from yutang.connectors.official_account import models as official_account_models
from yutang.connectors.webhooks import models as webhook_models
from yutang.connectors.wecom import models as wecom_models
from yutang.demo import models as demo_models
from yutang.fission import bargain_models, group_buy_models
from yutang.fission import models as fission_models
from yutang.groups import models as groups_models
from yutang.kit.db import Base
from yutang.offers import models as offers_models
from yutang.org import models as org_models
from yutang.pool import models as pool_models

DOMAIN_MODEL_MODULES = (org_models, access_models, pool_models, demo_models, wecom_models,
                        offers_models, group_buy_models, bargain_models,
                        official_account_models, webhook_models, groups_models,
                        fission_models, campaigns_models, follow_ups_models,
                        moments_models)


def metadata() -> MetaData:
    return Base.metadata
