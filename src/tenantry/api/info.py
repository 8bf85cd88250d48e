"""The resolver ``info`` type, bound to our context."""

import strawberry

from tenantry.api.context import Context

Info = strawberry.Info[Context, None]
