"""The state machines of plugin/domain/lifecycles.py: every allowed move passes, the others are
refused, final states are left only by a person's documented click; the database's CHECKs
(models, migration 0006) list exactly their states; and every state the code writes or compares
is one of them (a new bare string in a use case fails here, before production's insert does)."""

from __future__ import annotations

import ast
import enum
import importlib.util
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

import plugin.domain as domain
from plugin.domain import (
    BINDING,
    CANCELLATION,
    GRANT,
    LIFECYCLES,
    ORDER,
    RETURN,
    RETURN_HANDLING,
    RETURN_SHOP,
    SHIPMENT,
    SHOP,
    STOCK_UPDATE,
    IllegalTransition,
    OutboxState,
    check_move,
)
from plugin.domain.order import ALLOWED
from plugin.store import models

ROOT = Path(__file__).resolve().parents[2]
MACHINES = sorted(LIFECYCLES.items())


def _pairs(machine, *, person: bool):
    moves = machine.moves.items() if not person else itertools.chain(machine.moves.items(),
                                                                      machine.by_person.items())
    return [(a, b) for a, targets in moves for b in targets]


# ---------------------------------------------------------------- the machines
@pytest.mark.parametrize("name, machine", MACHINES)
def test_every_allowed_move_passes(name, machine):
    for a, b in _pairs(machine, person=True):
        assert machine.can(a, b) and machine.move(a, b) is b and check_move(machine, a.value, b.value) is b
    for a, b in _pairs(machine, person=False):
        assert machine.can(a, b, person=False)
    for state in machine.start:
        if machine.nullable:
            assert machine.move(None, state) is state


@pytest.mark.parametrize("name, machine", MACHINES)
def test_every_other_move_is_refused(name, machine):
    allowed = set(_pairs(machine, person=True))
    for a, b in itertools.product(machine.states, repeat=2):
        if a is b or (a, b) in allowed:
            continue
        assert not machine.can(a, b)
        with pytest.raises(IllegalTransition) as refused:
            machine.move(a, b)
        assert refused.value.what == machine.what and f"from {a.value} to {b.value}" in str(refused.value)
    # a person's moves are not the machine's own
    for a, b in set(_pairs(machine, person=True)) - set(_pairs(machine, person=False)):
        assert not machine.can(a, b, person=False)
        with pytest.raises(IllegalTransition):
            machine.move(a, b, person=False)


@pytest.mark.parametrize("machine, current, target", [
    (SHIPMENT, "success", "pending"), (SHIPMENT, "test", "sending"), (SHIPMENT, "manual", "pending"),
    (SHIPMENT, "submitted", "pending"), (SHIPMENT, "pending", "submitted"), (SHIPMENT, "success", "manual"),
    (SHIPMENT, "pending", "success"),
    (RETURN_HANDLING, "success", "pending"), (RETURN_HANDLING, "test", "pending"), (RETURN_HANDLING, None, "sending"),
    (RETURN_HANDLING, "failed", "manual"),     # returns are never handled manually
    (CANCELLATION, "refused", "pending"), (CANCELLATION, "success", "failed"), (CANCELLATION, "shop_pending", "submitted"),
    (CANCELLATION, "shop_pending", "pending"),  # not before the shop step was decided
    (CANCELLATION, "manual", "pending"), (CANCELLATION, "test", "sending"),
    (RETURN_SHOP, "done", "sending"), (RETURN_SHOP, "skipped", "sending"), (RETURN_SHOP, "pending", "done"),
    (BINDING, "created", "creating"), (BINDING, "cancelled", "new"), (BINDING, "manual", "new"),
    (BINDING, "cancelled", "created"), (BINDING, "created", "manual"),
    (GRANT, "used", "approved"), (GRANT, "pending", "approved"), (GRANT, "approved", "pending"),
    (GRANT, "failed", "pending"),
    (STOCK_UPDATE, "sent", "pending"), (STOCK_UPDATE, "error", "pending"), (STOCK_UPDATE, "superseded", "sending"),
    (RETURN, "handled", "registered"), (ORDER, "cancelled", "error"), (ORDER, "manual", "not_shipped"),
    (SHIPMENT, "pending", "shipped"), (SHIPMENT, None, "pending"), (CANCELLATION, "pending", None),
    (BINDING, "bogus", "new"),
])
def test_a_sample_of_forbidden_moves_raise(machine, current, target):
    assert not machine.can(current, target)
    with pytest.raises(IllegalTransition):
        check_move(machine, current, target)


# What a person may do with a row its own work left for good: Resend and Handle manually, as
# plugin/sync/resend.py and plugin/sync/handle_manually.py do them. Nothing else leaves a final state.
WAYS_OUT = {
    "shipment": {"failed": {"pending", "sending", "manual"}},
    "return_handling": {"failed": {"pending", "sending"}},
    "cancellation": {"failed": {"shop_pending", "pending", "sending", "manual"}},
    "return_shop": {"error": {"sending"}},
}


@pytest.mark.parametrize("name, machine", MACHINES)
def test_final_states_have_no_way_out_but_a_persons_resend(name, machine):
    for state in machine.final:
        assert machine.moves[state] == frozenset()
        ways = {b.value for b in machine.by_person.get(state, ())}
        assert ways == WAYS_OUT.get(name, {}).get(state.value, set()), state


def test_the_finals_are_the_documented_ones():
    def values(states):
        return {s.value for s in states}
    assert values(SHIPMENT.final) == {"success", "failed", "test", "manual"}
    assert values(RETURN_HANDLING.final) == {"success", "failed", "test"}
    assert values(CANCELLATION.final) == {"success", "failed", "refused", "test", "manual"}
    assert values(RETURN_SHOP.final) == {"done", "skipped", "error"}
    assert values(BINDING.final) == {"created", "cancelled", "manual"}   # error: the shop may still show it
    assert values(GRANT.final) == {"used", "failed"}
    assert values(STOCK_UPDATE.final) == {"sent", "superseded", "skipped", "error"}
    assert SHOP.final == frozenset()


def test_one_outbox_state_for_shipments_and_return_handlings():
    assert SHIPMENT.enum is RETURN_HANDLING.enum is OutboxState
    assert SHIPMENT.states == frozenset(OutboxState)
    assert RETURN_HANDLING.states == frozenset(OutboxState) - {OutboxState.MANUAL}
    assert RETURN_HANDLING.nullable and not SHIPMENT.nullable and not SHIPMENT.can(None, "pending")
    # a resend: failed -> pending (nothing reached the marketplace) and a refusal: sending -> pending
    assert SHIPMENT.can("failed", "pending") and not SHIPMENT.can("failed", "pending", person=False)
    assert SHIPMENT.can("sending", "pending", person=False)


def test_the_order_machine_is_order_pys():
    assert ORDER.moves == ALLOWED and ORDER.values == tuple(sorted(s.value for s in domain.OrderStatus))


def test_writing_a_state_again_is_no_move():
    assert CANCELLATION.can("sending", "sending") and BINDING.can("creating", "creating")


def test_a_machine_naming_a_state_it_does_not_hold_is_refused_at_once():
    with pytest.raises(ValueError):
        domain.Lifecycle("x", OutboxState, {OutboxState.PENDING: {OutboxState.SENDING}}, start={OutboxState.PENDING})


# ---------------------------------------------------------------- the database's CHECKs
def _migration_0006():
    path = ROOT / "migrations" / "versions" / "0006_state_checks.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_frozen_values_are_the_machines_states():
    # When a later migration changes a CHECK, compare the models with that one instead.
    migration = _migration_0006()
    frozen = {migration.name(table, column): (table, column, tuple(values))
              for table, columns in migration.CHECKS.items() for column, values in columns.items()}
    assert frozen == models.STATE_CHECKS
    for table, columns in migration.CHECKS.items():
        for column, values in columns.items():
            assert list(values) == sorted(values), f"{table}.{column}: keep them sorted"


def test_the_models_checks_are_the_machines():
    checks = {(table, column): set(values) for table, column, values in models.STATE_CHECKS.values()}

    def of(enum_type):
        return {e.value for e in enum_type}
    assert checks == {
        ("shops", "status"): set(SHOP.values),
        ("orders", "status"): set(ORDER.values), ("orders", "error_from"): of(domain.OrderStatus),
        ("bindings", "state"): set(BINDING.values),
        ("shipments", "state"): set(SHIPMENT.values),
        ("timeline", "kind"): of(domain.TimelineKind), ("timeline", "outcome"): of(domain.TimelineOutcome),
        ("auth_grants", "state"): set(GRANT.values), ("auth_grants", "purpose"): of(domain.GrantPurpose),
        ("offer_links", "stock_status"): of(domain.OfferStockStatus),
        ("stock_updates", "state"): set(STOCK_UPDATE.values),
        ("cancellations", "state"): set(CANCELLATION.values),
        ("cancellations", "direction"): of(domain.CancellationDirection),
        ("cancellations", "shop_action"): of(domain.CancellationShopAction),
        ("returns", "state"): set(RETURN.values), ("returns", "shop_state"): set(RETURN_SHOP.values),
        ("returns", "shop_action"): of(domain.ReturnShopAction),
        ("returns", "handle_state"): set(RETURN_HANDLING.values),
    }
    for model in models.Base.registry.mappers:
        table = model.class_.__table__
        named = {c.name for c in table.constraints if c.name and c.name.startswith("ck_")}
        assert named == {n for n, (t, _, _) in models.STATE_CHECKS.items() if t == table.name}


def test_the_settings_that_become_states_are_the_enums():
    from plugin.schemas import ShopSettingsSchema
    from plugin.sync import cancellations, install
    assert set(install.PURPOSES) == {p.value for p in domain.GrantPurpose}
    assert {cancellations.MARKETPLACE, cancellations.SHOP} == {d.value for d in domain.CancellationDirection}
    returns_action = ShopSettingsSchema().fields["returns_action"].validate
    assert set(returns_action.choices) == {a.value for a in domain.ReturnShopAction}


# ---------------------------------------------------------------- every state the code names
STATE_COLUMNS = {"state", "shop_state", "handle_state", "stock_status", "direction", "shop_action", "error_from"}
# Everybody's words (a shop order's status, a process's, a JSON answer's; a key's purpose): only
# where the table is certain. The timeline's kind and outcome: the arguments of timeline.record.
TABLE_ONLY = {"status", "purpose", "kind", "outcome"}
# Instances whose name says which table they are a row of, wherever they appear.
RECEIVERS = {"shipment": "shipments", "sibling": "shipments", "sh": "shipments", "binding": "bindings",
             "grant": "auth_grants", "link": "offer_links", "shop": "shops", "order": "orders"}


def _allowed():
    by_table = {(t, c): set(v) for t, c, v in models.STATE_CHECKS.values()}
    by_column = defaultdict(set)
    for (_, column), values in by_table.items():
        by_column[column] |= values
    return by_table, by_column


class _Module:
    """One source file: its constants, imports, aliases of models and OutboxRows objects."""

    def __init__(self, path: Path, tree: ast.Module):
        self.path, self.tree = path, tree
        self.constants: dict[str, ast.expr] = {}
        self.imports: dict[str, tuple[str, str]] = {}
        self.aliases: dict[str, str] = {}          # su = models.StockUpdate
        self.rows: dict[str, tuple[str, str]] = {}  # ROWS = OutboxRows(models.Return, machine, "handle_state")
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (node.module, alias.name)
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.constants[node.targets[0].id] = node.value
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
                if _model(value, {}):
                    self.aliases[target] = _model(value, {})
                elif isinstance(value, ast.Call) and _name(value.func) == "OutboxRows" and value.args:
                    table = _model(value.args[0], self.aliases)
                    # OutboxRows(model, machine, state="state"): the column by position or keyword
                    named = [value.args[2]] if len(value.args) > 2 else [k.value for k in value.keywords
                                                                          if k.arg == "state"]
                    column = (named[0].value if named and isinstance(named[0], ast.Constant) else "state")
                    if table:
                        self.rows[target] = (table, column)


TABLES = {m.class_.__name__: m.class_.__tablename__ for m in models.Base.registry.mappers}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _model(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The table of `models.X` (or an alias of it)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "models":
        return TABLES.get(node.attr)
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    return None


class Scan:
    def __init__(self, sources: dict[Path, str]):
        self.modules = {path: _Module(path, ast.parse(text)) for path, text in sources.items()}
        self.by_module = {".".join(p.relative_to(ROOT).with_suffix("").parts): m for p, m in self.modules.items()
                          if p.is_relative_to(ROOT)}
        self.signatures = self._signatures()
        self.found: list[tuple[str, str | None, str, set[str]]] = []   # (where, table, column, values)

    def _signatures(self) -> dict[str, list[str]]:
        """Functions (unique by name) taking a state as a positional parameter: add_cancellation."""
        seen: dict[str, list[list[str]]] = defaultdict(list)
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    seen[node.name].append([a.arg for a in node.args.posonlyargs + node.args.args])
        return {name: params[0] for name, params in seen.items()
                if len(params) == 1 and STATE_COLUMNS & set(params[0])}

    # -- values
    def values(self, node: ast.expr, module: _Module, depth: int = 0) -> set[str]:
        if depth > 3:
            return set()
        if isinstance(node, ast.Constant):
            return {node.value} if isinstance(node.value, str) else set()
        if isinstance(node, ast.IfExp):
            return self.values(node.body, module, depth) | self.values(node.orelse, module, depth)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return set().union(*(self.values(e, module, depth) for e in node.elts)) if node.elts else set()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):    # OPEN_SHIPMENT + ("test",)
            return self.values(node.left, module, depth) | self.values(node.right, module, depth)
        if isinstance(node, ast.Name):
            if node.id in module.constants:
                return self.values(module.constants[node.id], module, depth + 1)
            if node.id in module.imports:
                source, name = module.imports[node.id]
                other = self.by_module.get(source)
                if other is not None and name in other.constants:
                    return self.values(other.constants[name], other, depth + 1)
            return set()
        if isinstance(node, ast.Attribute):           # StockState.PENDING.value, OrderStatus.MANUAL
            member = node.value if node.attr == "value" else node
            if isinstance(member, ast.Attribute) and isinstance(member.value, ast.Name):
                kind = getattr(domain, member.value.id, None)
                if isinstance(kind, type) and issubclass(kind, enum.Enum) and member.attr in kind.__members__:
                    return {kind[member.attr].value}
        return set()

    def note(self, module: _Module, node: ast.AST, table: str | None, column: str, value: ast.expr) -> None:
        if column in TABLE_ONLY and table is None:
            return
        found = self.values(value, module)
        if found:
            self.found.append((f"{module.path.relative_to(ROOT)}:{node.lineno}", table, column, found))

    # -- where a state is named
    def table_of(self, node: ast.expr, module: _Module) -> str | None:
        """The table whose column `node` is: models.X.col, alias.col, shipment.col."""
        if not isinstance(node, ast.Attribute):
            return None
        owner = node.value
        return _model(owner, module.aliases) or (RECEIVERS.get(owner.id) if isinstance(owner, ast.Name) else None)

    def call_table(self, call: ast.Call, module: _Module) -> str | None:
        """models.X(...), update(models.X)....values(...), ROWS.release(...)."""
        func = call.func
        if _model(func, module.aliases):
            return _model(func, module.aliases)
        node = func
        while isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call):
            inner = node.value
            if _name(inner.func) == "update" and inner.args:
                return _model(inner.args[0], module.aliases)
            node = inner.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in module.rows:
            return module.rows[func.value.id][0]
        return None

    def run(self) -> list[tuple[str, str | None, str, set[str]]]:
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                self.visit(node, module)
        return self.found

    def visit(self, node: ast.AST, module: _Module) -> None:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if isinstance(target, ast.Attribute) and target.attr in STATE_COLUMNS | TABLE_ONLY:
                    self.note(module, node, self.table_of(target, module), target.attr, node.value)
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) \
                and node.left.attr in STATE_COLUMNS | TABLE_ONLY \
                and all(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops):
            for value in node.comparators:
                self.note(module, node, self.table_of(node.left, module), node.left.attr, value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in STATE_COLUMNS:
                    self.note(module, node, None, key.value, value)
        elif isinstance(node, ast.Call):
            self.visit_call(node, module)

    def visit_call(self, call: ast.Call, module: _Module) -> None:
        func = call.func
        name = _name(func)
        if name in ("in_", "not_in") and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) \
                and func.value.attr in STATE_COLUMNS | TABLE_ONLY and call.args:
            self.note(module, call, self.table_of(func.value, module), func.value.attr, call.args[0])
            return
        if name == "record" and isinstance(func, ast.Attribute) and _name(func.value) == "timeline":
            if len(call.args) > 2:
                self.note(module, call, "timeline", "kind", call.args[2])
            for kw in call.keywords:
                if kw.arg == "outcome":
                    self.note(module, call, "timeline", "outcome", kw.value)
            return
        table = self.call_table(call, module)
        for kw in call.keywords:
            if kw.arg in STATE_COLUMNS | TABLE_ONLY:
                self.note(module, call, table, kw.arg, kw.value)
        rows = module.rows.get(_name(func.value)) if isinstance(func, ast.Attribute) else None
        if rows is not None and name in ("move", "claim"):
            # OutboxRows.move(s, row_id, states, target, ...), .claim(s, row_id, states, ...)
            table, column = rows
            for arg in call.args[2:4 if name == "move" else 3]:
                self.note(module, call, table, column, arg)
        params = self.signatures.get(name)
        if params:
            offset = 1 if params and params[0] == "self" else 0
            for param, arg in zip(params[offset:], call.args, strict=False):
                if param in STATE_COLUMNS:
                    self.note(module, call, None, param, arg)


def _scan(sources: dict[Path, str]):
    by_table, by_column = _allowed()
    unknown = []
    found = Scan(sources).run()
    for where, table, column, values in found:
        allowed = by_table.get((table, column)) if table else None
        allowed = allowed if allowed is not None else by_column.get(column, set())
        if values - allowed:
            unknown.append((where, table or "?", column, sorted(values - allowed)))
    return found, unknown


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted((ROOT / "plugin").rglob("*.py"))}


def test_every_state_the_code_names_is_one_the_database_accepts():
    found, unknown = _scan(_sources())
    assert unknown == []
    tables = {table for _, table, _, _ in found}
    # the scan sees every kind of row (else it silently stopped looking)
    assert {"shipments", "cancellations", "returns", "bindings", "stock_updates", "auth_grants", "timeline",
            "shops", "orders", "offer_links"} <= tables
    named = {(table, column, value) for _, table, column, values in found for value in values}
    for expected in [("cancellations", "state", "shop_sending"), ("offer_links", "stock_status", "in_sync"),
                     ("shipments", "state", "test"), ("auth_grants", "state", "approving"),
                     ("shops", "status", "disconnected"), ("bindings", "state", "cancelled")]:
        assert expected in named or (None, *expected[1:]) in named, expected


@pytest.mark.parametrize("line", [
    'shipment.state = "shipped_twice"',
    'update(models.Binding).where(models.Binding.id == 1).values(state="half_created")',
    'q.where(models.Cancellation.state.in_(("pending", "cancelling")))',
    'if r.handle_state == "handed": pass',
    'values = {"shop_state": "sent"}',
    'models.Shop.status == "paused"',
    'timeline.record(s, order.id, "status", "x")',
    'timeline.record(s, order.id, "note", "x", outcome="fine")',
    'ROWS = OutboxRows(models.Return, RETURN_HANDLING, "handle_state")\nROWS.move(s, 1, ("sending",), "done")',
    'def add_cancellation(s, order, direction, line_ids, reason_code, state, shop_action=None): pass\n'
    'add_cancellation(s, order, "shop", [], "X", "queued")',
    'link.stock_status = StockState.SUPERSEDED.value',    # a stock state, not a link's status
])
def test_a_new_bare_state_string_fails_the_scan(line):
    _, unknown = _scan({ROOT / "plugin" / "sync" / "example.py": line})
    assert unknown, line
