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


def test_folded_patterns_are_folded_too():
    assert match.pattern_list_matches("web1.example.com", "*.EXAMPLE.com", fold_case=True)


DEFAULTS = {"user": "idlelock-audit", "host": "audit.invalid", "addr": "192.0.2.1"}
USERS = [("root", 0), ("alice", 1000), ("bob", 1001)]
GROUPS = [("root", 0, []), ("alice", 1000, []), ("admins", 2000, ["bob"])]


@pytest.mark.parametrize("args, connection", [
    (("User", "ad?in"), dict(DEFAULTS, user="adxin")),
    (("User", "*,!idlelock-audit"), dict(DEFAULTS, user="alice")),  # a real account
    (("Group", "admins"), dict(DEFAULTS, user="bob")),
    (("LocalAddress", "10.0.0.0/8"), dict(DEFAULTS, laddr="10.0.0.1")),
    (("RDomain", "vrf1"), dict(DEFAULTS, rdomain="vrf1")),
    (("Host", "*.EXAMPLE.com"), dict(DEFAULTS, host="x.EXAMPLE.com")),
])
def test_whole_connection_for_a_block(args, connection):
    assert match.connection_for(args, USERS, GROUPS) == (connection, None)


def test_host_negation_is_case_insensitive():
    assert match.connection_for(("Host", "*,!AUDIT.INVALID"), USERS, GROUPS) == (
        None, "no value satisfies Host *,!AUDIT.INVALID that idlelock can derive")


# Each case checked by hand against the real sshd (OpenSSH 9.2): `sshd -T -C` with the
# connection below applies the block; for a refusal, no value the block allows
# is one sshd accepts, or none idlelock can derive.
@pytest.mark.parametrize("args, connection", [
    (("All",), DEFAULTS),  # Match All: every connection
    (("User", "!root,deploy"), dict(DEFAULTS, user="deploy")),  # a negation first
    (("User", "Deploy"), dict(DEFAULTS, user="Deploy")),  # User is case-sensitive
    (("User", "*,!IDLELOCK-AUDIT"), DEFAULTS),  # so is its negation
    (("User", "X"), dict(DEFAULTS, user="X")),
    (("User", "ad?in*"), dict(DEFAULTS, user="adxin")),
    (("User", "x/y,deploy"), dict(DEFAULTS, user="deploy")),  # "/" is no network for User
    (("Address", "10.0.0.?"), dict(DEFAULTS, addr="10.0.0.1")),
    # sshd globs what does not look like an address; the next entry still counts.
    (("Address", "not-a-net/8,10.0.0.0/8"), dict(DEFAULTS, addr="10.0.0.1")),
    (("LocalAddress", "10.*"), dict(DEFAULTS, laddr="10.1.1.1")),  # a whole address
    (("LocalAddress", "*"), dict(DEFAULTS, laddr="192.0.2.2")),  # sshd needs some laddr
    (("RDomain", "*"), dict(DEFAULTS, rdomain="idlelock-audit")),
    (("Address", "10.*.?"), dict(DEFAULTS, addr="10.1.1.1")),  # "?" is one character
    # The network's first address is refused: the next entry gives one.
    (("Address", "10.0.0.0/8,!10.0.0.1,10.9.*"), dict(DEFAULTS, addr="10.9.1.1")),
])
def test_a_connection_sshd_applies_the_block_to(args, connection):
    assert match.connection_for(args, USERS, GROUPS) == (connection, None)


@pytest.mark.parametrize("args, reason", [
    # sshd matches LocalAddress against an address only: laddr=host1 skips the block.
    (("LocalAddress", "host*"), "no value satisfies LocalAddress host* that idlelock can derive"),
    (("Group", "ADMINS"), "no account in this host's user and group database matches "
                          "Group ADMINS, so no connection can be built to test this block"),
])
def test_no_connection_and_why(args, reason):
    assert match.connection_for(args, USERS, GROUPS) == (None, reason)


def test_a_refusal_spells_the_criterion_as_sshd_config_does():
    assert match.connection_for(("RDomain", "!*"), USERS, GROUPS) == (
        None, "no value satisfies RDomain !* that idlelock can derive")
    assert match.connection_for(("LocalPort", "x"), USERS, GROUPS) == (
        None, "no value satisfies LocalPort x that idlelock can derive")


def test_user_and_group_patterns_are_case_sensitive():
    assert match.pattern_list_matches("Deploy", "deploy") is False
    assert match.group_members("ADMINS", USERS, GROUPS) == []
