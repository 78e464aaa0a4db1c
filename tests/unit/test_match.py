"""sshd's Match semantics: the connection ``sshd -T -C`` needs to make a block apply."""

import pytest

import idlelock_facts
import idlelock_match

USERS = [("root", 0), ("alice", 1000), ("bob", 1001)]
GROUPS = [("root", 0, []), ("alice", 1000, []), ("admins", 2000, ["bob"]),
          ("empty", 2001, [])]


@pytest.mark.parametrize("args, want", [
    (("Group", "admins"), {"user": "bob"}),
    (("Group", "alice"), {"user": "alice"}),  # primary group membership counts
    (("Group", "adm*,!empty"), {"user": "bob"}),
    (("User", "deploy", "Address", "10.0.0.0/8"), {"user": "deploy", "addr": "10.0.0.1"}),
    (("User", "*,!root"), {"user": "idlelock-audit"}),
    (("Host", "*.example.com"), {"host": "x.example.com"}),
    (("LocalPort", "2222"), {"lport": "2222"}),
    (("Address", "192.168.*,!192.168.1.*"), {"addr": "192.168.2.1"}),
])
def test_connection_matches_the_block(args, want):
    connection, reason = idlelock_match.connection_for(args, USERS, GROUPS)
    assert reason is None
    assert {key: connection[key] for key in want} == want


@pytest.mark.parametrize("args, needle", [
    (("Group", "empty"), "no account"),
    (("Group", "admins", "User", "alice"), "Group admins and User alice"),
    (("Address", "!0.0.0.0/0,!::/0"), "no value satisfies Address"),
    (("User", "!root"), "no value satisfies User"),  # sshd: negations alone match nobody
    (("Version", "OpenSSH_10*"), "not one idlelock can probe"),
    # sshd reads a port as ASCII digits (a2port): these are no port to build a connection on.
    (("LocalPort", "\uff12\uff12"), "no value satisfies Localport"),
    (("LocalPort", "\u0662\u0662"), "no value satisfies Localport"),
    (("LocalPort", "\u00b2\u00b2"), "no value satisfies Localport"),
])
def test_unbuildable_connection_says_why(args, needle):
    connection, reason = idlelock_match.connection_for(args, USERS, GROUPS)
    assert connection is None and needle in reason


def test_an_image_account_database_reads_ids_as_nss_files_does(tmp_path):
    """ASCII digits only: isdigit() takes "²" (and int() then raises) and "٣" (int() takes it)."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0::/root:/bin/bash\nodd:x:1001:\u00b2::/:/bin/sh\nwide:x:1002:\u0663::/:/bin/sh\n"
        "bob:x:1003:2000::/home/bob:/bin/bash\n")
    (tmp_path / "etc/group").write_text(
        "root:x:0:\nadmins:x:2000:\nsup:x:\u00b9:bob\nwide:x:\uff13:alice\n")
    users, groups = idlelock_facts.accounts(str(tmp_path))
    assert users == [("root", 0), ("bob", 2000)]
    assert groups == [("root", 0, []), ("admins", 2000, [])]
