"""Every table module, imported so ``Base.metadata`` knows the whole schema.

Each feature keeps its tables in its own module next to this one; add the module here.
"""

from bot.storage import (  # noqa: F401
    admin_tables,
    library_tables,
    scale_tables,
    tables,
    usage_tables,
)
from bot.storage.tables import Base

metadata = Base.metadata
