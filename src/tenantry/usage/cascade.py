"""Who pays whom at each level of the tree, for one endpoint: the one definition of the
cascade, shared by rated usage and by endpoint fees."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.scope import Scope
from tenantry.ledger import repository as ledger_repo
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants.models import Tenant
from tenantry.usage import repository as repo


@dataclass(frozen=True)
class Level:
    tariff_id: int | None
    payer_account: int
    payee_account: int


@dataclass
class Cascade:
    """The endpoints' customers and every tenant above them, loaded in a few statements."""

    targets: dict[int, repo.RatingTarget]
    tenants: dict[int, Tenant]
    tenant_accounts: dict[int, int]

    @classmethod
    async def load(cls, session: AsyncSession, endpoint_ids: Sequence[int]) -> "Cascade":
        return await cls.of(session, await repo.rating_targets(session, endpoint_ids))

    @classmethod
    async def of(cls, session: AsyncSession, targets: dict[int, repo.RatingTarget]) -> "Cascade":
        tenants = await tenants_repo.lineage(session, list({t.tenant_id for t in targets.values()}))
        everyone = Scope(0, sees_all=True)  # the cascade reads every level, whoever asks
        accounts = {
            a.tenant_id: a.id
            for a in await ledger_repo.tenant_accounts(session, everyone, list(tenants))
        }
        return cls(targets, tenants, accounts)

    def tariff_ids(self) -> list[int]:
        """Every tariff some level of these endpoints pays by."""
        ids = {t.customer_tariff_id for t in self.targets.values()} | {
            t.tenant_tariff_id for t in self.tenants.values()
        }
        return sorted(i for i in ids if i is not None)

    def levels(self, endpoint_id: int) -> list[Level]:
        """Who pays whom, by which tariff, at each level.

        Level 0: the customer's account pays its tenant, by the customer's tariff. Level k:
        the tenant k - 1 steps above the endpoint's tenant pays its parent, by its tenant
        tariff. The root pays nobody: its account keeps the last level's revenue.
        """
        target = self.targets[endpoint_id]
        path = self.tenants[target.tenant_id].path
        levels = [
            Level(
                target.customer_tariff_id,
                target.customer_account_id,
                self.tenant_accounts[target.tenant_id],
            )
        ]
        for payer, payee in zip(reversed(path[1:]), reversed(path[:-1]), strict=True):
            tenant = self.tenants[payer]
            levels.append(
                Level(
                    tenant.tenant_tariff_id,
                    self.tenant_accounts[payer],
                    self.tenant_accounts[payee],
                )
            )
        return levels
