"""Moving a sub-tenant, with everything under it, to another parent (DESIGN.md, "Moving a
sub-tree").

A move is planned first: every rule is checked and every consequence a person must know is
put in words. A dry run (the default) stops there and changes nothing; a real move refuses
on any problem, or rewrites the whole sub-tree's paths in one transaction.

History stays as it was: the move notes, per moved tenant, the path its usage so far was
rated up (``tenant_placements``, an id range of its records; no record is rewritten), so that
usage stays in the figures of the tenants it was charged to (the moved tenants, their old
ancestors); usage rated after the move goes up the new branch. Ledger postings and audit
events name accounts and tenants, not places, and are untouched.

Concurrency: a real move first takes the tree lock alone (``repository.lock_tree_for_move``),
which waits for tenant creations, tenant edits and usage batches in flight and holds new ones
off until it commits; only then does it read the tree. So two moves take turns, and the
second sees the first's result (a pair that would make a cycle together fails with CYCLE),
and a tenant created under the moved sub-tree is created either before the move (and moved
with it) or after it (under the new path).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.principal import Principal
from tenantry.auth.scope import Scope
from tenantry.core.errors import DomainError, ErrorCode, Problem, Problems, forbidden
from tenantry.customers import repository as customers_repo
from tenantry.operators import repository as operators_repo
from tenantry.tariffs import repository as tariffs_repo
from tenantry.tariffs import service as tariffs
from tenantry.tenants import repository as repo
from tenantry.tenants.errors import tenant_not_found
from tenantry.tenants.models import Tenant, TenantKind
from tenantry.usage import repository as usage_repo

EVERYONE = Scope(0, sees_all=True)  # the rules read the whole sub-tree, whoever asks


@dataclass(frozen=True)
class MoveRequest:
    tenant_id: int | None
    new_parent_id: int | None
    # The new parent's tariff the moved tenant pays from now on; None clears a tenant
    # tariff the new parent does not own.
    tenant_tariff_id: int | None = None
    dry_run: bool = True


@dataclass
class MoveOutcome:
    tenant: Tenant
    dry_run: bool
    changes: list[str] = field(default_factory=list)
    # Only a dry run returns problems; a real move raises them.
    problems: list[Problem] = field(default_factory=list)


async def move_tenant(
    session: AsyncSession, principal: Principal, request: MoveRequest
) -> MoveOutcome:
    if not request.dry_run:
        await repo.lock_tree_for_move(session)
    tenant = await _visible(session, principal, request.tenant_id, "tenantId")
    new_parent = await _visible(session, principal, request.new_parent_id, "newParentId")
    principal.require_admin()
    if not principal.scope.is_strict_ancestor_of(tenant):
        raise forbidden(
            "A tenant is moved by an admin of a tenant above it.", ("input", "tenantId")
        )
    problems = Problems()
    outcome = MoveOutcome(tenant, request.dry_run)
    if not await _check_place(session, problems, tenant, new_parent):
        return _finish(outcome, problems)

    below = await repo.subtree(session, tenant.id, for_update=not request.dry_run)
    old_parent = await repo.get_unscoped(session, tenant.parent_id or 0)
    outcome.changes.append(
        f"Moves {_count(len(below), 'tenant')} ({tenant.name} and everything under it) "
        f"from {old_parent.name} to {new_parent.name}."
    )
    new_tariff = await _plan_tenant_tariff(
        session, principal, problems, outcome, request, old_parent=old_parent, new_parent=new_parent
    )
    leaving = [t for t in tenant.path[:-1] if t not in new_parent.path]
    await _check_customer_tariffs(session, problems, below, leaving)
    withdrawn = await _plan_operators(session, problems, outcome, below, new_parent)
    await _plan_visibility(session, outcome, leaving, new_parent, tenant)
    outcome.changes.append(
        "Usage already rated stays in the figures of the tenants it was rated up to; "
        f"usage rated from now on goes up through {new_parent.name}."
    )
    if request.dry_run or problems.items:
        return _finish(outcome, problems)

    tenant.tenant_tariff_id = new_tariff
    # No usage batch runs now (the tree lock): every record rated so far has an id up to this.
    await repo.place_subtree(session, tenant.id, await usage_repo.last_record_id(session))
    await repo.rewrite_subtree_paths(session, tenant, new_parent)
    await operators_repo.withdraw(session, withdrawn)
    # The usage rollups need nothing: each record was added to the rollups of the tenants on
    # the path it was rated up, which is where placements keep it (usage/placements.py).
    return outcome


def _finish(outcome: MoveOutcome, problems: Problems) -> MoveOutcome:
    if outcome.dry_run:
        outcome.problems = list(problems.items)
        return outcome
    problems.raise_if_any()
    return outcome


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _names(tenants: list[Tenant]) -> str:
    return ", ".join(t.name for t in tenants)


async def _visible(
    session: AsyncSession, principal: Principal, tenant_id: int | None, field_name: str
) -> Tenant:
    # Whole workspaces only: a partner sees its managed tenants' billing faces, not their
    # place in a tree it could rearrange.
    tenant = None if tenant_id is None else await repo.get(session, principal.scope, tenant_id)
    if tenant is None:
        raise tenant_not_found(("input", field_name))
    return tenant


async def _managed_home(session: AsyncSession, tenant: Tenant) -> int | None:
    """The managed tenant that ``tenant`` is or sits under, if any."""
    lineage = await repo.lineage(session, [tenant.id])
    return next((t for t in reversed(tenant.path) if lineage[t].kind is TenantKind.MANAGED), None)


async def _check_place(
    session: AsyncSession, problems: Problems, tenant: Tenant, new_parent: Tenant
) -> bool:
    """Whether the new place can hold the tenant at all (when not, nothing else is planned)."""
    parent_field = ("input", "newParentId")
    if tenant.id in new_parent.path:
        problems.add(
            ErrorCode.CYCLE, "A tenant cannot move under itself or a tenant below it.", parent_field
        )
        return False
    if new_parent.id == tenant.parent_id:
        problems.add(ErrorCode.INVALID, "The tenant is already under that parent.", parent_field)
        return False
    if tenant.kind is TenantKind.MANAGED:
        problems.add(
            ErrorCode.INVALID,
            "A managed tenant stays with its partner.",
            ("input", "tenantId"),
        )
        return False
    if await _managed_home(session, tenant) != await _managed_home(session, new_parent):
        problems.add(
            ErrorCode.INVALID,
            "A move cannot take a tenant into or out of a partner's managed tenants.",
            parent_field,
        )
        return False
    if new_parent.currency != tenant.currency:
        problems.add(
            ErrorCode.CURRENCY_MISMATCH,
            f"{tenant.name} keeps its accounts in {tenant.currency}; "
            f"{new_parent.name} works in {new_parent.currency}.",
            parent_field,
        )
        return False
    return True


async def _plan_tenant_tariff(
    session: AsyncSession,
    principal: Principal,
    problems: Problems,
    outcome: MoveOutcome,
    request: MoveRequest,
    *,
    old_parent: Tenant,
    new_parent: Tenant,
) -> int | None:
    """What the moved tenant pays its new parent: the tariff given, or nothing."""
    tenant = outcome.tenant
    old = (
        None
        if tenant.tenant_tariff_id is None
        else (await tariffs_repo.by_ids(session, EVERYONE, [tenant.tenant_tariff_id]))[0]
    )
    if request.tenant_tariff_id is None:
        if old is not None:
            outcome.changes.append(
                f"{tenant.name}'s tenant tariff '{old.name}' of {old_parent.name} is cleared: "
                f"{new_parent.name} charges {tenant.name} nothing until one is set."
            )
        return None
    field_path = ("input", "tenantTariffId")
    try:
        tariff = await tariffs.resolve_assignable(
            session, principal.scope, request.tenant_tariff_id, field_path
        )
    except DomainError as error:
        problems.items.extend(error.problems)
        return None
    before = len(problems.items)
    tariffs.check_tenant_tariff(problems, field_path, tariff, new_parent, tenant.currency)
    if len(problems.items) == before:
        was = "none" if old is None else f"'{old.name}' of {old_parent.name}"
        outcome.changes.append(
            f"{tenant.name}'s tenant tariff becomes '{tariff.name}' of {new_parent.name} "
            f"(was {was})."
        )
    return tariff.id


async def _check_customer_tariffs(
    session: AsyncSession, problems: Problems, below: list[Tenant], leaving: list[int]
) -> None:
    """Customer and default tariffs must be owned by their tenant or an ancestor: none may be
    owned by a tenant the sub-tree leaves behind."""
    if not leaving:
        return
    owners = await repo.lineage(session, leaving)
    counts = await customers_repo.customers_by_tariff_owner(session, [t.id for t in below])
    paying = sum(counts.get(owner, 0) for owner in leaving)
    defaults = [t.default_customer_tariff_id for t in below if t.default_customer_tariff_id]
    default_owners = {
        tariff.tenant_id for tariff in await tariffs_repo.by_ids(session, EVERYONE, defaults)
    }
    named = _names([owners[o] for o in leaving])
    if paying:
        problems.add(
            ErrorCode.INVALID,
            f"{paying} customer(s) of the moved tenants pay tariffs of {named}, which would "
            "no longer be above them: give them other tariffs first.",
            ("input", "tenantId"),
        )
    if default_owners & set(leaving):
        problems.add(
            ErrorCode.INVALID,
            f"A moved tenant's default customer tariff belongs to {named}, which would no "
            "longer be above it: change it first.",
            ("input", "tenantId"),
        )


async def _plan_operators(
    session: AsyncSession,
    problems: Problems,
    outcome: MoveOutcome,
    below: list[Tenant],
    new_parent: Tenant,
) -> list[tuple[int, int]]:
    """Operators each moved tenant has after the move: its direct grants that its (new)
    parent still has, plus, when it inherits, all of its parent's (DESIGN.md: a grant must be
    available to the parent). Those lost are listed, and refused while endpoints use them.
    Returns the direct grants the move withdraws, as (tenant, operator) pairs."""
    ids = [t.id for t in below]
    tenants, grants = await operators_repo.lineage(session, [*ids, new_parent.id])
    operators = await operators_repo.all_operators(session)
    catalog = {op.id for op in operators}
    names = {op.id: op.name for op in operators}
    moved = outcome.tenant
    moving = set(ids)

    def effective(
        tenant_id: int, parent_of: Mapping[int, int], memo: dict[int, set[int]]
    ) -> set[int]:
        if tenant_id in memo:
            return memo[tenant_id]
        tenant = tenants[tenant_id]
        parent_id = parent_of.get(tenant_id, tenant.parent_id)
        if parent_id is None:
            result = set(catalog)
        else:
            result = set(grants.get(tenant_id, ()))
            parents = effective(parent_id, parent_of, memo)
            if parent_of and tenant_id in moving:
                result &= parents
            if tenant.inherit_sponsor_operators:
                result |= parents
        memo[tenant_id] = result
        return result

    before: dict[int, set[int]] = {}
    after: dict[int, set[int]] = {}
    after_move = {moved.id: new_parent.id}
    # Every moved tenant has a parent: the moved one the new parent, the others their own.
    withdrawn = [
        (tenant.id, op)
        for tenant in below
        for op in sorted(grants.get(tenant.id, ()))
        if op not in effective(after_move.get(tenant.id, tenant.parent_id or 0), after_move, after)
    ]
    in_use = await customers_repo.endpoints_by_operator(session, ids)
    for tenant in below:
        lost = sorted(
            effective(tenant.id, {}, before) - effective(tenant.id, after_move, after),
            key=lambda op: names[op],
        )
        if not lost:
            continue
        used = [op for op in lost if in_use.get((tenant.id, op))]
        if used:
            endpoints = sum(in_use[(tenant.id, op)] for op in used)
            problems.add(
                ErrorCode.INVALID,
                f"{tenant.name} would lose sponsor operator(s) "
                f"{', '.join(names[op] for op in used)}, which "
                f"{_count(endpoints, 'endpoint')} use.",
                ("input", "newParentId"),
            )
        else:
            outcome.changes.append(
                f"{tenant.name} loses sponsor operator(s) "
                f"{', '.join(names[op] for op in lost)} (no endpoint uses them)."
            )
    return withdrawn


async def _plan_visibility(
    session: AsyncSession,
    outcome: MoveOutcome,
    leaving: list[int],
    new_parent: Tenant,
    tenant: Tenant,
) -> None:
    joining = [t for t in new_parent.path if t not in tenant.path]
    lineage = await repo.lineage(session, [*leaving, *joining])
    if leaving:
        outcome.changes.append(
            f"No longer visible to the admins of {_names([lineage[t] for t in leaving])}."
        )
    if joining:
        outcome.changes.append(
            f"Visible from now on to the admins of {_names([lineage[t] for t in joining])}."
        )
