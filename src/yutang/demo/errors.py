from yutang.kit.errors import Conflict


class DemoDatabaseNotEmpty(Conflict):
    """The demo merchant is generated into an empty database only."""

    code = "demo_database_not_empty"
