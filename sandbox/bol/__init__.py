"""A faithful fake of the bol.com Retailer API v10 (orders, shipments, cancellations, returns,
process status) and Offers API v11 (offers and stock), for tests.

    from sandbox.bol import BolState, create_app
    from sandbox.bol.server import serve

See app.py for the Flask app, control.py for the test-only /_sandbox endpoints, and gateway.py
for auth, rate limiting and fault injection.
"""

from sandbox.bol.app import create_app
from sandbox.bol.faults import Faults
from sandbox.bol.state import BolState

__all__ = ["BolState", "Faults", "create_app"]
