from yutang.kit.errors import Conflict, InvalidInput, NotFound


class StoreNotFound(NotFound):
    code = "store_not_found"


class StoreCodeTaken(Conflict):
    code = "store_code_taken"


class InvalidStore(InvalidInput):
    code = "invalid_store"
