"""Every feature's models, imported so Alembic and tests see one metadata."""

from tenantry.audit import models as _audit  # noqa: F401
from tenantry.auth import models as _auth  # noqa: F401
from tenantry.customers import models as _customers  # noqa: F401
from tenantry.db.base import Base
from tenantry.fees import models as _fees  # noqa: F401
from tenantry.ledger import models as _ledger  # noqa: F401
from tenantry.operators import models as _operators  # noqa: F401
from tenantry.partners import models as _partners  # noqa: F401
from tenantry.persisted_queries import models as _persisted_queries  # noqa: F401
from tenantry.rate_limits import models as _rate_limits  # noqa: F401
from tenantry.reports import models as _reports  # noqa: F401
from tenantry.tariffs import models as _tariffs  # noqa: F401
from tenantry.tenants import models as _tenants  # noqa: F401
from tenantry.usage import models as _usage  # noqa: F401

metadata = Base.metadata
