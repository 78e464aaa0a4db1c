"""
sshd's pattern lists, as Match blocks use them (sshd_config(5) PATTERNS; match.c
match_pattern_list and addr_match_list): any negated hit refuses, else any hit
accepts, and no hit at all does not match.
"""

import pytest

import idlelock_match as match


@pytest.mark.parametrize("addr, patterns, matched", [
    ("10.1.2.3", "10.0.0.0/8", True),
    ("10.1.2.3", "192.168.0.0/16", False),
    ("10.1.2.3", "192.168.0.0/16,10.1.*", True),
    ("10.1.2.3", "10.0.0.0/8,!10.1.0.0/16", False),
    ("10.1.2.3", "!10.9.0.0/16", False),  # negations alone match nothing
    ("10.1.2.3", "not-a-network/8", False),
    ("::1", "::1/128", True),
])
def test_address_lists(addr, patterns, matched):
    assert match.address_list_matches(addr, patterns) is matched


@pytest.mark.parametrize("value, patterns, fold, matched", [
    ("deploy", "dep*", False, True),
    ("deploy", "admin,ops", False, False),
    ("deploy", "*,!deploy", False, False),
    ("Web1.Example.COM", "*.example.com", True, True),
    ("Web1.Example.COM", "*.example.com", False, False),
])
def test_pattern_lists(value, patterns, fold, matched):
    assert match.pattern_list_matches(value, patterns, fold_case=fold) is matched
