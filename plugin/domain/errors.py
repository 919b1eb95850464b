class DomainError(Exception):
    """A rule of the business was broken; never retryable by itself."""


class IllegalTransition(DomainError):
    def __init__(self, current: str, target: str, what: str = "an order"):
        super().__init__(f"{what} cannot go from {current} to {target}")
        self.current = current
        self.target = target
        self.what = what


class NoTransporter(DomainError):
    """A shipment with T&T needs a transporter, and no rule or default gives one."""
