"""Which marketplace transporter carries a parcel, as Channable's transporter rules decide it.

Resolution order: the merchant's rules in their order (a rule matches the tracking code's
shape with a regular expression and may strip a value from the code, e.g. a prefix the shop
adds), then the carrier name the shop wrote next to the code, then the default transporter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from plugin.domain.errors import NoTransporter

# Carrier names and slugs as the WooCommerce Shipment Tracking extension writes them (compared
# lower-case with '-' and '_' read as spaces: "dhl-parcel" = "DHL Parcel") -> bol.com codes.
KNOWN_PROVIDERS: dict[str, str] = {
    "postnl": "TNT",
    "dhl": "DHLFORYOU",
    "dhl parcel": "DHLFORYOU",
    "dhl parcel nl": "DHLFORYOU",
    "dhl express": "DHL",
    "dhl de": "DHL_DE",
    "dpd": "DPD-NL",
    "dpd nl": "DPD-NL",
    "dpd be": "DPD-BE",
    "bpost": "BPOST_BE",
    "gls": "GLS",
    "ups": "UPS",
    "fedex": "FEDEX_NL",
    "budbee": "BUDBEE",
    "trunkrs": "TRUNKRS",
}


def _normal(name: str) -> str:
    return " ".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


@dataclass(frozen=True)
class TransporterRule:
    pattern: str                 # regular expression searched in the tracking code
    transporter: str             # marketplace transporter code, e.g. "TNT"
    strip: str = ""              # literal value removed from the code before sending

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"invalid pattern {self.pattern!r}: {exc}") from exc
        if not self.transporter:
            raise ValueError("a rule needs a transporter")

    def matches(self, code: str) -> bool:
        return re.search(self.pattern, code) is not None


@dataclass(frozen=True)
class TransporterRules:
    default: str | None = None
    rules: tuple[TransporterRule, ...] = field(default_factory=tuple)
    use_provider_names: bool = True

    def resolve(self, code: str, provider: str | None = None) -> tuple[str, str]:
        """(transporter code, tracking code to send). Raises NoTransporter."""
        code = code.strip()
        for rule in self.rules:
            if rule.matches(code):
                cleaned = code.replace(rule.strip, "") if rule.strip else code
                return rule.transporter, cleaned.strip()
        if self.use_provider_names and provider:
            known = KNOWN_PROVIDERS.get(_normal(provider))
            if known:
                return known, code
        if self.default:
            return self.default, code
        raise NoTransporter(
            f"no transporter for tracking code {code!r}"
            + (f" (carrier {provider!r})" if provider else "")
            + ": set a default transporter or a rule"
        )

    @classmethod
    def from_dict(cls, data: dict | None) -> TransporterRules:
        data = data or {}
        rules = tuple(
            TransporterRule(r["pattern"], r["transporter"], r.get("strip", "") or "")
            for r in data.get("rules", [])
        )
        return cls(default=data.get("default") or None, rules=rules,
                   use_provider_names=data.get("use_provider_names", True))

    def to_dict(self) -> dict:
        return {
            "default": self.default,
            "rules": [{"pattern": r.pattern, "transporter": r.transporter, "strip": r.strip} for r in self.rules],
            "use_provider_names": self.use_provider_names,
        }
