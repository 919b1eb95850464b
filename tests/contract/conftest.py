"""The fixtures every contract test may ask for: each sandbox served on loopback and the real
adapter pointed at it. They live with their helpers in conftest_bol.py and conftest_woocommerce.py;
importing them here is what lets pytest find them, so a test module imports only the helpers it
calls."""

from tests.contract.conftest_bol import bol, bol_sandbox, bol_spec, make_bol, recorder  # noqa: F401
from tests.contract.conftest_woocommerce import catalog, receiver, woo_sandbox, woo_shop  # noqa: F401
