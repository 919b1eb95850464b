"""The life of every row that moves through states: each machine drawn, then declared once.

The use cases (plugin/sync) move a row by compare-and-set on its state; these machines are the
one list of the states each column may hold (migration 0006 makes the database refuse any other)
and of the moves between them. `moves` are what orderbridge's own work does; `by_person` what only
a merchant's click does (Resend, Handle manually). A state with no move of its own is `final`:
only a person, if anyone, takes a row out of it. Writing a row's state again (a second attempt
claiming a `sending` row) is no move and always allowed.

Shipment (shipments.state, OutboxState): a marketplace write, followed to its end

    pending ──claimed, `sending` committed before the request──► sending ──answered──► submitted
     │  ▲                                                           │  │                  │
     │  └──refused for certain (4xx, 429): nothing exists there─────┘  │            process final
     │                                                                 │                  ▼
     ├──not sendable (no transporter, its lines taken)──► failed ◄─────┘ given up  success | failed
     └──the shop's test mode: never sent──► test

    failed ──Resend──► pending (it never reached the marketplace) | sending (unknown: looked up first)
    pending | sending | submitted | failed ──Handle manually──► manual
    final: success, test, manual; failed waits for a person

Return handling (returns.handle_state, OutboxState without manual; NULL until the merchant acts)

    NULL ──the merchant refunded the line in the shop──► pending ──► sending ──► submitted ──► success | failed
     └──the refund breaks the handling's rules──► failed           (and the rest as a shipment's)
    pending | sending ──test mode──► test
    failed ──Resend──► pending | sending

Cancellation (cancellations.state), both ways

    direction `marketplace` (the buyer asked): the shop first
    shop_pending ──go──► shop_sending ──shop order cancelled, or the lines removed──► pending
         │                  │
         ├──────────────────┴──the parcel left meanwhile (the merchant completed it)──► refused
         └──────────────────┴──the shop step given up──► failed

    then, and direction `shop` (the merchant cancelled in the shop) from the start:
    pending ──► sending ──► submitted ──► success | failed      (as a shipment; test mode: test)

    failed ──Resend──► shop_pending (never done in the shop) | pending (refused for certain)
                       | sending (unknown: looked up first)
    shop_pending | shop_sending | pending | sending | submitted | failed ──Handle manually──► manual
    final: success, refused, test, manual; failed waits for a person

Telling the shop about a return (returns.shop_state)

    pending ──claimed──► sending ──the note / refund record written──► done
       │                   │  └──given up──► error ──Resend──► sending (looked up first)
       └───────────────────┴──the order is not in the shop──► skipped
    (written `skipped` at once: not an order orderbridge imported)

Binding (bindings.state): a marketplace order's creation in the shop

    new ──claimed──► creating ──created, or found by its marker──► created
     │                  │                                            ▲
     │                  └──given up──► error ──the shop shows it─────┤ adopted: the shop has
     ├──the buyer cancelled before it was sent──► cancelled          │ an order with our marker
     └──the shop shows it─────────────────────────────────────────────┘

    error ──Resend──► creating (an attempt reached the shop: looked up first) | new (none did)
    new | creating | error ──Handle manually──► manual

App authorization (auth_grants.state)

    pending ──the shop's callback──► approving ──keys verified, shop stored──► approved ──the browser back──► used
                                        └──refused (keys, URL, not installed)──► failed

Stock update (stock_updates.state, StockState of plugin/domain/stock.py)

    pending ──its turn──► sending ──accepted──► sent
       │                    ├──refused──► error
       │                    ├──not listed, not managed, stock sync off, test mode──► skipped
       │                    ├──unchanged on the marketplace, or a newer value waits──► superseded
       │                    └──not taken (429, keys refused, a retry)──► pending
       ├──a newer value replaced it──► superseded
       └──skipped in its claim's own transaction──► skipped

Shop (shops.status): active ──keys refused (401), or disconnected──► disconnected ──re-install──► active

The order's status and a return's own state have their machines in plugin/domain/order.py and
plugin/domain/returns.py (ORDER and RETURN here wrap them). An offer link's stock_status is no
machine: it shows its newest update's state (or in_sync), whichever came before.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from plugin.domain.errors import IllegalTransition
from plugin.domain.order import ALLOWED as ORDER_ALLOWED
from plugin.domain.order import OrderStatus
from plugin.domain.returns import ReturnState
from plugin.domain.stock import StockState

E = TypeVar("E", bound=enum.StrEnum)


class Lifecycle(Generic[E]):
    """One state machine: the states its column may hold (the keys of `moves`, so a subset of the
    enum when two columns share one), where a row starts, its own moves and a person's."""

    def __init__(self, what: str, enum_type: type[E], moves: Mapping[E, Iterable[E]], *,
                 start: Iterable[E], by_person: Mapping[E, Iterable[E]] | None = None, nullable: bool = False):
        self.what = what
        self.enum = enum_type
        self.moves: dict[E, frozenset[E]] = {state: frozenset(to) for state, to in moves.items()}
        self.by_person: dict[E, frozenset[E]] = {state: frozenset(to) for state, to in (by_person or {}).items()}
        self.start = frozenset(start)
        self.nullable = nullable
        self.states = frozenset(self.moves)
        # every state named anywhere is one of the machine's: a typo here fails at import
        named = self.start | set(self.by_person).union(*self.by_person.values()) | set().union(*self.moves.values())
        if not named <= self.states:
            raise ValueError(f"{what}: {sorted(named - self.states)} not among its states")

    @property
    def final(self) -> frozenset[E]:
        """The states its own work never leaves."""
        return frozenset(state for state, to in self.moves.items() if not to)

    @property
    def values(self) -> tuple[str, ...]:
        """The strings its column may hold, sorted (what the database's CHECK lists)."""
        return tuple(sorted(state.value for state in self.states))

    def _state(self, value: str | E | None, other: str | E | None) -> E | None:
        if value is None and self.nullable:
            return None
        try:
            state = self.enum(value)
        except ValueError:
            raise IllegalTransition(str(value), str(other), self.what) from None
        if state not in self.states:
            raise IllegalTransition(state.value, str(other), self.what)
        return state

    def can(self, current: str | E | None, target: str | E, *, person: bool = True) -> bool:
        """Whether `current` may move to `target` (None: a nullable column not set yet); without
        `person`, only by orderbridge's own work."""
        try:
            move = self._state(current, target), self._state(target, current)
        except IllegalTransition:
            return False
        a, b = move
        if b is None:
            return False
        if a is None:
            return b in self.start
        if a is b:
            return True
        return b in self.moves[a] or (person and b in self.by_person.get(a, frozenset()))

    def move(self, current: str | E | None, target: str | E, *, person: bool = True) -> E:
        """The target state, or IllegalTransition."""
        if not self.can(current, target, person=person):
            raise IllegalTransition("nothing" if current is None else str(current), str(target), self.what)
        return self.enum(target)


def check_move(machine: Lifecycle, current: str | enum.StrEnum | None, target: str | enum.StrEnum, *,
               person: bool = True) -> enum.StrEnum:
    """`machine.move(current, target)`: the target state, or IllegalTransition."""
    return machine.move(current, target, person=person)


# ---------------------------------------------------------------- outbox rows
class OutboxState(enum.StrEnum):
    PENDING = "pending"        # written, waiting for its job
    SENDING = "sending"        # committed before the request leaves: it may have reached the marketplace
    SUBMITTED = "submitted"    # the marketplace took it: its process is followed
    SUCCESS = "success"
    FAILED = "failed"          # given up or refused: the order is in error, a person decides
    TEST = "test"              # the shop's test mode: never sent
    MANUAL = "manual"          # the merchant handles the order manually: nothing of ours touches it


OS = OutboxState
# The life every marketplace write shares (plugin/sync/outbox.py runs it). The finish's
# compare-and-set accepts `sending` as well as `submitted`, so both may end.
_SENT = {
    OS.SENDING: {OS.SUBMITTED, OS.SUCCESS, OS.FAILED,
                OS.PENDING},       # refused for certain: nothing exists there, no look-up needed
    OS.SUBMITTED: {OS.SUCCESS, OS.FAILED},
    OS.SUCCESS: set(),
    OS.FAILED: set(),
    OS.TEST: set(),
}
_RESEND = {OS.FAILED: {OS.PENDING, OS.SENDING}}   # sending: the last send's outcome is unknown

SHIPMENT: Lifecycle[OutboxState] = Lifecycle(
    "a shipment", OutboxState,
    {**_SENT,
     OS.PENDING: {OS.SENDING, OS.TEST,
                 OS.FAILED},       # not sendable: no transporter for its T&T, or its lines went meanwhile
     OS.MANUAL: set()},
    start={OS.PENDING},
    by_person={OS.FAILED: _RESEND[OS.FAILED] | {OS.MANUAL},
               **{state: {OS.MANUAL} for state in (OS.PENDING, OS.SENDING, OS.SUBMITTED)}},
)

RETURN_HANDLING: Lifecycle[OutboxState] = Lifecycle(
    "a return's handling", OutboxState,
    {**_SENT,
     OS.PENDING: {OS.SENDING, OS.TEST},
     # test mode is read before the state: a `sending` row (its send lost) ends in test too
     OS.SENDING: _SENT[OS.SENDING] | {OS.TEST}},
    # NULL -> pending: the merchant's refund seen; NULL -> failed: that refund breaks the
    # handling's rules (more than returned, no result), a person looks at it
    start={OS.PENDING, OS.FAILED}, by_person=_RESEND, nullable=True,
)


class CancellationState(enum.StrEnum):
    SHOP_PENDING = "shop_pending"   # the buyer's request: to be done in the shop first
    SHOP_SENDING = "shop_sending"   # decided and committed before the shop is called (idempotent calls)
    PENDING = "pending"
    SENDING = "sending"
    SUBMITTED = "submitted"
    SUCCESS = "success"
    FAILED = "failed"
    REFUSED = "refused"             # the buyer's request not applied: the parcel left meanwhile
    TEST = "test"
    MANUAL = "manual"


class CancellationDirection(enum.StrEnum):
    MARKETPLACE = "marketplace"     # the buyer asked on the marketplace
    SHOP = "shop"                   # the merchant cancelled in the shop


class CancellationShopAction(enum.StrEnum):
    """What a buyer's cancellation does in the shop (NULL: the merchant's, done there already)."""
    CANCEL_ORDER = "cancel_order"   # every open line: the shop order is cancelled
    REMOVE_LINES = "remove_lines"   # some lines: removed from the shop order


C = CancellationState
CANCELLATION: Lifecycle[CancellationState] = Lifecycle(
    "a cancellation", CancellationState,
    {
        # a shop step that fails is given up like a marketplace one (its look-up may fail before
        # the decision: from shop_pending too)
        C.SHOP_PENDING: {C.SHOP_SENDING, C.REFUSED, C.FAILED},
        C.SHOP_SENDING: {C.PENDING, C.REFUSED, C.FAILED},
        C.PENDING: {C.SENDING, C.TEST},
        # test mode is read before the state: a `sending` row ends in test too
        C.SENDING: {C.SUBMITTED, C.SUCCESS, C.FAILED, C.PENDING, C.TEST},
        C.SUBMITTED: {C.SUCCESS, C.FAILED},
        C.SUCCESS: set(), C.FAILED: set(), C.REFUSED: set(), C.TEST: set(), C.MANUAL: set(),
    },
    start={C.SHOP_PENDING,           # direction marketplace
           C.PENDING},               # direction shop
    by_person={
        # Resend: the shop step again when it never finished there, else the marketplace call
        C.FAILED: {C.SHOP_PENDING, C.PENDING, C.SENDING, C.MANUAL},
        **{state: {C.MANUAL} for state in (C.SHOP_PENDING, C.SHOP_SENDING, C.PENDING, C.SENDING, C.SUBMITTED)},
    },
)


# ---------------------------------------------------------------- returns
class ReturnShopState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"     # committed before the shop is called: the next attempt looks for its note first
    DONE = "done"           # the note or refund record is in the shop
    SKIPPED = "skipped"     # not an order orderbridge imported, or not in the shop
    ERROR = "error"         # given up: a person resends


class ReturnShopAction(enum.StrEnum):
    """How the shop is told (the shop's returns_action setting)."""
    NOTE = "note"
    REFUND = "refund"       # a refund record without money moving


R = ReturnShopState
RETURN_SHOP: Lifecycle[ReturnShopState] = Lifecycle(
    "telling the shop about a return", ReturnShopState,
    {R.PENDING: {R.SENDING, R.SKIPPED},
     R.SENDING: {R.DONE, R.SKIPPED, R.ERROR},
     R.DONE: set(), R.SKIPPED: set(), R.ERROR: set()},
    start={R.PENDING, R.SKIPPED},
    by_person={R.ERROR: {R.SENDING}},   # looked up first: a failed attempt may have written it
)

RETURN: Lifecycle[ReturnState] = Lifecycle(
    "a return", ReturnState, {ReturnState.REGISTERED: {ReturnState.HANDLED}, ReturnState.HANDLED: set()},
    start={ReturnState.REGISTERED},
)


# ---------------------------------------------------------------- bindings, grants, shops
class BindingState(enum.StrEnum):
    NEW = "new"
    CREATING = "creating"     # committed before the shop is called: the next attempt looks it up first
    CREATED = "created"
    ERROR = "error"           # given up: the order is in error, a person resends
    CANCELLED = "cancelled"   # the buyer cancelled before it was sent: never created
    MANUAL = "manual"


B = BindingState
BINDING: Lifecycle[BindingState] = Lifecycle(
    "an order's creation in the shop", BindingState,
    {
        # -> created from new and error too: the shop shows an order with our marker whose
        # creation was not recorded (apply_shop_change adopts it)
        B.NEW: {B.CREATING, B.CANCELLED, B.CREATED},
        B.CREATING: {B.CREATED, B.ERROR},
        B.ERROR: {B.CREATED},
        B.CREATED: set(), B.CANCELLED: set(), B.MANUAL: set(),
    },
    start={B.NEW},
    by_person={B.ERROR: {B.NEW, B.CREATING, B.MANUAL}, B.NEW: {B.MANUAL}, B.CREATING: {B.MANUAL}},
)


class GrantState(enum.StrEnum):
    PENDING = "pending"       # handed to the shop, waiting for its callback
    APPROVING = "approving"   # the callback claimed it (each grant is spent once)
    APPROVED = "approved"     # keys verified, shop stored: the browser may sign in
    USED = "used"
    FAILED = "failed"


class GrantPurpose(enum.StrEnum):
    INSTALL = "install"
    SIGNIN = "signin"


G = GrantState
GRANT: Lifecycle[GrantState] = Lifecycle(
    "an authorization", GrantState,
    {G.PENDING: {G.APPROVING}, G.APPROVING: {G.APPROVED, G.FAILED}, G.APPROVED: {G.USED},
     G.USED: set(), G.FAILED: set()},
    start={G.PENDING},
)


class ShopStatus(enum.StrEnum):
    ACTIVE = "active"
    DISCONNECTED = "disconnected"   # keys refused or disconnected: jobs stop, data kept for a while


SHOP: Lifecycle[ShopStatus] = Lifecycle(
    "a shop", ShopStatus,
    {ShopStatus.ACTIVE: {ShopStatus.DISCONNECTED}, ShopStatus.DISCONNECTED: {ShopStatus.ACTIVE}},
    start={ShopStatus.ACTIVE},
)


# ---------------------------------------------------------------- stock, orders
St = StockState
STOCK_UPDATE: Lifecycle[StockState] = Lifecycle(
    "a stock update", StockState,
    {
        # -> skipped: stock sync off or test mode is found in the transaction that claims it
        St.PENDING: {St.SENDING, St.SUPERSEDED, St.SKIPPED},
        # -> pending: not taken (rate limited, keys refused, a retry); superseded when a newer
        # value waits meanwhile, or the marketplace has the value already
        St.SENDING: {St.SENT, St.ERROR, St.SKIPPED, St.SUPERSEDED, St.PENDING},
        # final, all: a Resend of an error writes a new pending update for the offer
        St.SENT: set(), St.SUPERSEDED: set(), St.SKIPPED: set(), St.ERROR: set(),
    },
    start={St.PENDING},
)


class OfferStockStatus(enum.StrEnum):
    """An offer link's stock_status: its newest update's state as the Stock tab shows it, or
    `in_sync` (the marketplace has the shop's value, nothing sent by us). No machine: it follows
    whichever update is newest, so any value may follow any other."""
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    ERROR = "error"
    IN_SYNC = "in_sync"


ORDER: Lifecycle[OrderStatus] = Lifecycle(
    "an order", OrderStatus, ORDER_ALLOWED, start={OrderStatus.NOT_SHIPPED},
)


# ---------------------------------------------------------------- the timeline
class TimelineKind(enum.StrEnum):
    STATE = "state"
    CALL = "call"
    NOTE = "note"


class TimelineOutcome(enum.StrEnum):
    OK = "ok"
    RETRY = "retry"
    ERROR = "error"


# Every machine, by the column it describes' name in the docs above.
LIFECYCLES: dict[str, Lifecycle] = {
    "shipment": SHIPMENT, "return_handling": RETURN_HANDLING, "cancellation": CANCELLATION,
    "return_shop": RETURN_SHOP, "return": RETURN, "binding": BINDING, "grant": GRANT, "shop": SHOP,
    "stock_update": STOCK_UPDATE, "order": ORDER,
}
