"""A small, believable tree for GraphiQL: resellers, sub-tenants two or three deep, users."""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth import repository as auth_repo
from tenantry.auth import service as auth
from tenantry.auth.models import Role
from tenantry.auth.principal import Principal
from tenantry.auth.service import NewUser
from tenantry.db.engine import Database
from tenantry.tenants import repository as tenants_repo
from tenantry.tenants import service as tenants
from tenantry.tenants.models import SubscriptionType, Tenant
from tenantry.tenants.service import NewSubTenant


@dataclass
class Node:
    name: str
    moniker: str
    currency: str | None = None
    children: list["Node"] = field(default_factory=list)
    users: list[tuple[str, str, Role]] = field(default_factory=list)


TREE = [
    Node(
        "Northwind Telecom",
        "northwind",
        "EUR",
        users=[("ops@northwind.example", "Nora Lind", Role.ADMIN)],
        children=[
            Node(
                "Northwind Nordics",
                "northwind-nordics",
                "SEK",
                children=[Node("Fjord IoT", "fjord-iot"), Node("Baltic Fleet", "baltic-fleet")],
            ),
            Node(
                "Northwind Iberia",
                "northwind-iberia",
                children=[
                    Node(
                        "Sol Logistics",
                        "sol-logistics",
                        children=[Node("Sol Cold Chain", "sol-cold")],
                    )
                ],
            ),
        ],
    ),
    Node(
        "Acme Connect",
        "acme-connect",
        "USD",
        users=[
            ("admin@acme.example", "Ada Acme", Role.ADMIN),
            ("finance@acme.example", "Frank Ledger", Role.VIEWER),
        ],
        children=[
            Node(
                "Acme Retail",
                "acme-retail",
                children=[Node("Acme Retail East", "acme-retail-east")],
            ),
            Node("Acme Agri", "acme-agri"),
        ],
    ),
    Node(
        "Globex Mobile",
        "globex",
        "GBP",
        users=[("noc@globex.example", "Gus Globex", Role.ADMIN)],
        children=[Node("Globex Health", "globex-health")],
    ),
]


async def load_demo(database_url: str) -> str:
    db = Database.connect(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.write() as session:
            root = await tenants_repo.get_root(session)
            admin = await auth_repo.first_admin(session, root.id) if root else None
            if root is None or admin is None:
                return "Run `tenantry bootstrap` first."
            if await tenants_repo.moniker_taken(session, TREE[0].moniker):
                return "Demo data is already loaded."
            actor = Principal(admin.id, root.id, Role.ADMIN, is_platform=True, token_id=0)
            count = 0
            for node in TREE:
                count += await _create(session, actor, root, node)
    finally:
        await db.dispose()
    return f"Loaded {count} demo tenants under '{root.moniker}'."


async def _create(session: AsyncSession, actor: Principal, parent: Tenant, node: Node) -> int:
    tenant = await tenants.create_sub_tenant(
        session,
        actor,
        NewSubTenant(
            parent_id=parent.id,
            name=node.name,
            moniker=node.moniker,
            subscription_types=[SubscriptionType.INTEGRATED, SubscriptionType.STANDALONE],
            currency=node.currency,
        ),
    )
    for email, name, role in node.users:
        await auth.create_user(session, actor, NewUser(tenant.id, email, name, role))
    created = 1
    for child in node.children:
        created += await _create(session, actor, tenant, child)
    return created
