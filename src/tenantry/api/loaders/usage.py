"""Usage totals, batched: owners of one kind and window share three statements."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from tenantry.api.loaders.base import ScopedLoader
from tenantry.tariffs.models import UsageKind
from tenantry.usage import repository as repo
from tenantry.usage.repository import UsageOwner, Window


@dataclass(frozen=True)
class TotalsKey:
    owner: UsageOwner
    window: Window


@dataclass(frozen=True)
class KindTotals:
    kind: UsageKind
    quantity: Decimal
    cost: Decimal
    revenue: Decimal


class UsageTotalsLoader(ScopedLoader[TotalsKey, list[KindTotals]]):
    """Owners reach this loader only through fields of objects the caller can see."""

    async def batch_load_fn(self, keys: list[TotalsKey]) -> list[list[KindTotals]]:
        groups: dict[tuple[str, bool, Window], list[int]] = defaultdict(list)
        for key in keys:
            groups[(key.owner.kind, key.owner.subtree, key.window)].append(key.owner.id)
        found: dict[TotalsKey, list[KindTotals]] = {}
        async with self.db.read() as session:
            for (kind, subtree, window), ids in groups.items():
                quantities, costs, revenues = await repo.totals(
                    session, kind, ids, window, subtree=subtree
                )
                for owner_id in ids:
                    found[TotalsKey(UsageOwner(kind, owner_id, subtree), window)] = [
                        KindTotals(
                            usage_kind,
                            quantities.get((owner_id, usage_kind.value), Decimal(0)),
                            costs.get((owner_id, usage_kind.value), Decimal(0)),
                            revenues.get((owner_id, usage_kind.value), Decimal(0)),
                        )
                        for usage_kind in UsageKind
                        if any(
                            (owner_id, usage_kind.value) in sums
                            for sums in (quantities, costs, revenues)
                        )
                    ]
        return [found[key] for key in keys]
