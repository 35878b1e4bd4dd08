"""Who may do what with campaigns, in terms of the access domain's permissions.

Building segments, content and campaigns is HQ marketing work, like coupon templates
(``offers.manage``); reading counts, plans and results is analytics (``analytics.read``);
a preview that shows customers needs ``customers.read`` and is masked (pseudonymous for
analysts).
"""

from __future__ import annotations

from yutang.access.roles import Permission

MANAGE = Permission.OFFERS_MANAGE
READ = Permission.ANALYTICS_READ
PREVIEW_CUSTOMERS = Permission.CUSTOMERS_READ
