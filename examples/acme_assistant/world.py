"""The fixed facts of the Acme world: customers, contacts, services, policies and dates.

Both the corpus builder and the request generator read these, so a request's ground truth
(which document answers it) is known by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Contact:
    name: str
    role: str

    @property
    def first(self) -> str:
        return self.name.split()[0]

    def email(self, domain: str) -> str:
        return f"{self.name.lower().replace(' ', '.')}@{domain}"


@dataclass(frozen=True)
class Customer:
    slug: str
    name: str
    domain: str
    contacts: tuple[Contact, Contact]
    renewal: date
    discount: int
    owner: str
    product: str
    issue: str


CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        "globex",
        "Globex",
        "globex.com",
        (Contact("Dana Whitfield", "VP Operations"), Contact("Marco Ruiz", "IT lead")),
        date(2027, 1, 31),
        12,
        "Priya Shah",
        "Fleet Planner",
        "late invoice exports",
    ),
    Customer(
        "initech",
        "Initech",
        "initech.io",
        (Contact("Bill Lumbergh", "Director"), Contact("Joanna Park", "Procurement")),
        date(2027, 3, 15),
        8,
        "Tom Becker",
        "Route Optimizer",
        "slow route imports",
    ),
    Customer(
        "umbrella",
        "Umbrella Health",
        "umbrella-health.org",
        (Contact("Alice Moreau", "CIO"), Contact("Ken Oduya", "Analyst")),
        date(2026, 12, 20),
        15,
        "Priya Shah",
        "Warehouse Hub",
        "barcode scanner sync",
    ),
    Customer(
        "stark",
        "Stark Logistics",
        "starklogistics.com",
        (Contact("Pepper Lane", "COO"), Contact("Happy Grant", "Dispatcher")),
        date(2027, 6, 1),
        10,
        "Lena Vogt",
        "Fleet Planner",
        "driver app crashes",
    ),
    Customer(
        "wayne",
        "Wayne Foods",
        "waynefoods.com",
        (Contact("Lucius Fox", "CTO"), Contact("Rachel Dawes", "Legal")),
        date(2027, 2, 28),
        5,
        "Tom Becker",
        "Cold Chain Monitor",
        "temperature alert delays",
    ),
    Customer(
        "hooli",
        "Hooli",
        "hooli.xyz",
        (Contact("Gavin Belson", "CEO"), Contact("Jian Yang", "Engineer")),
        date(2027, 4, 10),
        20,
        "Lena Vogt",
        "Route Optimizer",
        "API rate limits",
    ),
    Customer(
        "vandelay",
        "Vandelay Imports",
        "vandelay.biz",
        (Contact("Art Vandelay", "Owner"), Contact("Elaine Benes", "Editor")),
        date(2026, 12, 5),
        7,
        "Sam Okafor",
        "Customs Desk",
        "customs form errors",
    ),
    Customer(
        "soylent",
        "Soylent Labs",
        "soylentlabs.com",
        (Contact("Hana Ito", "Head of Ops"), Contact("Rob Thorn", "Buyer")),
        date(2027, 5, 22),
        9,
        "Sam Okafor",
        "Warehouse Hub",
        "stock count drift",
    ),
    Customer(
        "tyrell",
        "Tyrell Energy",
        "tyrell.energy",
        (Contact("Eldon Tyrell", "Chairman"), Contact("Rachael Rosen", "Assistant")),
        date(2027, 8, 30),
        11,
        "Priya Shah",
        "Fleet Planner",
        "fuel report gaps",
    ),
    Customer(
        "cyberdyne",
        "Cyberdyne Systems",
        "cyberdyne.ai",
        (Contact("Miles Dyson", "Engineering"), Contact("Sarah Connor", "Security")),
        date(2027, 1, 12),
        14,
        "Lena Vogt",
        "Route Optimizer",
        "SSO login loops",
    ),
    Customer(
        "wonka",
        "Wonka Retail",
        "wonka.shop",
        (Contact("Charlie Bucket", "Store ops"), Contact("Grace Beauregarde", "Finance")),
        date(2027, 7, 4),
        6,
        "Tom Becker",
        "Warehouse Hub",
        "label printer outages",
    ),
    Customer(
        "piedpiper",
        "Pied Piper",
        "piedpiper.com",
        (Contact("Richard Hendricks", "CEO"), Contact("Monica Hall", "Partner")),
        date(2027, 9, 18),
        18,
        "Sam Okafor",
        "Customs Desk",
        "duplicate shipment records",
    ),
)

#: Look-alike accounts that exist only as hard negatives in the corpus.
DECOYS: tuple[tuple[str, str], ...] = (
    ("globex-health", "Globex Health"),
    ("initech-europe", "Initech Europe"),
)

SERVICES: tuple[str, ...] = (
    "billing portal",
    "route API",
    "mobile driver app",
    "SSO login",
    "warehouse sync",
    "reporting dashboard",
    "customs gateway",
    "notification service",
)


@dataclass(frozen=True)
class Policy:
    slug: str
    topic: str
    current: str
    stale: str


POLICIES: tuple[Policy, ...] = (
    Policy(
        "refunds",
        "refunds on annual plans",
        "pro-rated refunds within 60 days",
        "refunds within 30 days only",
    ),
    Policy(
        "discounts", "maximum discount without approval", "up to 15 percent", "up to 20 percent"
    ),
    Policy(
        "travel",
        "travel expenses",
        "economy class, booked 14 days ahead",
        "business class allowed over 4 hours",
    ),
    Policy(
        "data-retention",
        "customer data retention",
        "deleted 90 days after churn",
        "kept for one year after churn",
    ),
    Policy(
        "security-review",
        "security questionnaires",
        "answered by the trust team in 5 days",
        "answered by the account owner",
    ),
    Policy(
        "support-hours",
        "support hours",
        "24/7 for enterprise, 8-18 CET otherwise",
        "8-18 CET for everyone",
    ),
    Policy(
        "sla-credits",
        "SLA credits",
        "10 percent credit per hour below 99.9 percent",
        "5 percent credit per day of outage",
    ),
    Policy(
        "trial-extension",
        "trial extensions",
        "one extension of 14 days",
        "two extensions of 30 days",
    ),
    Policy(
        "invoicing",
        "invoice disputes",
        "raised within 45 days via the billing portal",
        "raised within 15 days by email",
    ),
    Policy(
        "onboarding",
        "onboarding sessions",
        "three free sessions for new accounts",
        "one free session",
    ),
)

#: The first day of simulated traffic; relative dates ("last week") resolve against it.
DEFAULT_START = date(2026, 11, 16)
