import pytest

from plugin.domain import NoTransporter, TransporterRule, TransporterRules


def test_rules_in_order_first_match_wins_and_strip():
    rules = TransporterRules(default="TNT", rules=(
        TransporterRule(r"^3S", "TNT"),
        TransporterRule(r"^JVGL", "DHLFORYOU", strip="JVGL-"),
        TransporterRule(r"^\d{14}$", "DPD-NL"),
    ))
    assert rules.resolve("3SABCD1234567") == ("TNT", "3SABCD1234567")
    assert rules.resolve("JVGL-0123456789") == ("DHLFORYOU", "0123456789")
    assert rules.resolve("01234567890123") == ("DPD-NL", "01234567890123")


def test_provider_name_then_default():
    rules = TransporterRules(default="OTHER")
    assert rules.resolve("ZZ1", "PostNL") == ("TNT", "ZZ1")
    assert rules.resolve("ZZ1", "DHL") == ("DHLFORYOU", "ZZ1")
    assert rules.resolve("ZZ1", "Unknown Courier") == ("OTHER", "ZZ1")
    assert rules.resolve(" ZZ1 ") == ("OTHER", "ZZ1")


def test_provider_names_can_be_switched_off():
    rules = TransporterRules(default="OTHER", use_provider_names=False)
    assert rules.resolve("ZZ1", "PostNL") == ("OTHER", "ZZ1")


def test_no_rule_and_no_default_raises():
    with pytest.raises(NoTransporter, match="set a default transporter"):
        TransporterRules().resolve("ZZ1", "Nobody")


def test_rule_beats_provider_name():
    rules = TransporterRules(rules=(TransporterRule("^CD", "DPD-BE"),))
    assert rules.resolve("CD123", "PostNL") == ("DPD-BE", "CD123")


def test_invalid_rule_is_refused():
    with pytest.raises(ValueError, match="invalid pattern"):
        TransporterRule("(", "TNT")
    with pytest.raises(ValueError):
        TransporterRule("x", "")


def test_round_trip_dict():
    rules = TransporterRules(default="TNT", rules=(TransporterRule("^3S", "TNT", "3S"),))
    assert TransporterRules.from_dict(rules.to_dict()) == rules
    assert TransporterRules.from_dict(None) == TransporterRules()
