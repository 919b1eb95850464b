"""The settings page offers exactly the codes bol's published spec allows."""

import json

import pytest

from adapters.bol.codes import CANCEL_REASON_CODES, RETURN_HANDLING_RESULTS
from tests.contract.conftest_bol import find_spec_dir


@pytest.fixture(scope="module")
def schemas():
    spec_dir = find_spec_dir()
    if spec_dir is None:
        pytest.fail("the bol specs are missing: they live in ../shared/specs (or ORDERBRIDGE_SPECS_DIR)")
    return json.loads((spec_dir / "retailer-v10.json").read_text())["components"]["schemas"]


def test_cancel_reason_codes_are_the_specs(schemas):
    assert CANCEL_REASON_CODES == tuple(schemas["OrderItemCancellation"]["properties"]["reasonCode"]["enum"])


def test_return_handling_results_are_the_specs(schemas):
    assert RETURN_HANDLING_RESULTS == tuple(schemas["ReturnRequest"]["properties"]["handlingResult"]["enum"])
