"""Usage totals, batched: owners of one kind and window share one statement."""

from collections import defaultdict
from dataclasses import dataclass

from tenantry.api.loaders.base import ScopedLoader
from tenantry.tariffs.models import UsageKind
from tenantry.usage import repository as repo
from tenantry.usage.repository import Sums, UsageOwner, Window


@dataclass(frozen=True)
class TotalsKey:
    owner: UsageOwner
    window: Window


@dataclass(frozen=True)
class KindTotals:
    kind: UsageKind
    sums: Sums


class UsageTotalsLoader(ScopedLoader[TotalsKey, list[KindTotals]]):
    """Owners reach this loader only through fields of objects the caller can see."""

    async def batch_load_fn(self, keys: list[TotalsKey]) -> list[list[KindTotals]]:
        groups: dict[tuple[str, bool, Window], list[UsageOwner]] = defaultdict(list)
        for key in keys:
            groups[(key.owner.kind, key.owner.subtree, key.window)].append(key.owner)
        found: dict[tuple[UsageOwner, Window], dict[str, Sums]] = defaultdict(dict)
        async with self.db.read() as session:
            for (_, _, window), owners in groups.items():
                for (owner, kind), sums in (await repo.totals(session, owners, window)).items():
                    found[(owner, window)][kind] = sums
        return [
            [
                KindTotals(kind, found[(key.owner, key.window)][kind.value])
                for kind in UsageKind
                if kind.value in found[(key.owner, key.window)]
            ]
            for key in keys
        ]
