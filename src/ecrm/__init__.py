"""ecrm: typed, embeddable e-commerce CRM.

RFM grades (P/G/S/B), store VIP tiers, repurchase cycles and lifecycle stages, and
compliant customer touch, over a columnar :class:`OrderLog` of orders.
"""

from ecrm._birthday import Birthday
from ecrm._contact import (
    FAKE_PHONE_PREFIX,
    is_fake_phone,
    mask_email,
    mask_phone,
    normalize_email,
    normalize_phone,
)
from ecrm._customer import Customer
from ecrm._customers import CustomerTable
from ecrm._events import Event, EventKind, EventLog
from ecrm._gender import Gender
from ecrm._io import CsvColumns, Progress, read_orders_csv
from ecrm._load._spec import LoadInfo
from ecrm._money import Money
from ecrm._order import DEFAULT_VALID_STATUSES, Order, OrderItem, OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._progress import ProgressUpdate
from ecrm._time import DEFAULT_TZ
from ecrm._version import __version__
from ecrm._window import Window
from ecrm.errors import (
    CurrencyMismatchError,
    DataFormatErrorGroup,
    EcrmError,
    EcrmErrorGroup,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    RowError,
    SchemeError,
    StoreError,
    UnknownCustomerError,
    _renamed_error,
)

__all__ = [
    "DEFAULT_TZ",
    "DEFAULT_VALID_STATUSES",
    "FAKE_PHONE_PREFIX",
    "Birthday",
    "CsvColumns",
    "CurrencyMismatchError",
    "Customer",
    "CustomerTable",
    "DataFormatErrorGroup",
    "EcrmError",
    "EcrmErrorGroup",
    "Event",
    "EventKind",
    "EventLog",
    "Gender",
    "InvalidTypeError",
    "InvalidValueError",
    "LoadInfo",
    "MissingDependencyError",
    "Money",
    "Order",
    "OrderItem",
    "OrderItems",
    "OrderLog",
    "OrderStatus",
    "Progress",
    "ProgressUpdate",
    "RowError",
    "SchemeError",
    "StoreError",
    "UnknownCustomerError",
    "Window",
    "__version__",
    "is_fake_phone",
    "mask_email",
    "mask_phone",
    "normalize_email",
    "normalize_phone",
    "read_orders_csv",
]


def __getattr__(name: str) -> type:
    """Old error names, kept one release (``ecrm.DataFormatError``); they warn."""
    return _renamed_error(__name__, name)
