"""Sync asks the marketplace's declared capabilities before it sends a write the marketplace may
not take; the bol adapter declares what its Retailer API v10 spec says."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from adapters.bol.adapter import CAPABILITIES, BolMarketplace
from plugin.sync.ports import CancelItems, ShipmentRequest
from plugin.sync.unsupported_writes import why_not_cancellable, why_not_shippable

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "bol"
SPEC = SPECS / "retailer-v10.json"


def test_bol_declares_what_its_spec_says():
    assert BolMarketplace.capabilities is CAPABILITIES
    spec = json.loads(SPEC.read_text())
    schemas = spec["components"]["schemas"]
    shipment_item = schemas["ShipmentRequest"]["properties"]["orderItems"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert CAPABILITIES.ships_parts_of_lines == ("quantity" in schemas[shipment_item]["properties"])
    assert CAPABILITIES.returns == ("/retailer/returns" in spec["paths"])
    # a shipment answers 202 (accepted, a process to follow), and the shared API reads processes
    shared = json.loads((SPECS / "shared-v10.json").read_text())
    assert CAPABILITIES.follows_processes == ("202" in spec["paths"]["/retailer/shipments"]["post"]["responses"]
                                              and any("process-status" in path for path in shared["paths"]))
    cancellation = schemas["CancellationRequest"]["properties"]["orderItems"]
    assert CAPABILITIES.cancels_lines == (cancellation["type"] == "array")


PART = ShipmentRequest("A1", ("1", "2"), "ref", quantities=(("1", 2),))
WHOLE = ShipmentRequest("A1", ("1", "2"), "ref")


def test_a_part_of_a_line_goes_only_to_a_marketplace_that_ships_parts():
    assert why_not_shippable(CAPABILITIES, PART) is None
    whole_lines_only = replace(CAPABILITIES, ships_parts_of_lines=False)
    assert "2 of line 1" in why_not_shippable(whole_lines_only, PART)
    assert why_not_shippable(whole_lines_only, WHOLE) is None


def test_some_lines_are_cancelled_only_where_the_marketplace_cancels_per_line():
    some = CancelItems("A1", ("1",), "OUT_OF_STOCK")
    every = CancelItems("A1", ("2", "1"), "OUT_OF_STOCK")
    assert why_not_cancellable(CAPABILITIES, some, ["1", "2"]) is None
    per_order = replace(CAPABILITIES, cancels_lines=False)
    assert "whole orders only" in why_not_cancellable(per_order, some, ["1", "2"])
    assert why_not_cancellable(per_order, every, ["1", "2"]) is None
