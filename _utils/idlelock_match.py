"""
sshd's Match semantics: which connection a ``Match`` block applies to.

Pure logic: no I/O. sshd's own pattern-list and address-list matching
(``match_pattern_list``, ``addr_match_list`` in OpenSSH's match.c and
addrmatch.c), and the ``sshd -T -C`` connection that makes a block apply, built
from the block's criteria and this host's account database.
"""

import fnmatch
import ipaddress

from idlelock_policy import decimal

# Connection defaults for ``sshd -T -C``: reserved names and a documentation
# address (RFC 2606, RFC 5737) that no real criterion is likely to exclude.
DEFAULT_CONNECTION = {"user": "idlelock-audit", "host": "audit.invalid", "addr": "192.0.2.1"}
# Match criterion -> the ``-C`` key it is tested against.
_CRITERIA = {"user": "user", "host": "host", "address": "addr", "localaddress": "laddr",
             "localport": "lport", "rdomain": "rdomain"}


def pattern_list_matches(value, patterns, fold_case=False):
    """sshd's ``match_pattern_list``: any negated hit refuses, else any hit accepts."""
    hit = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        subject = value.lower() if fold_case else value
        if fnmatch.fnmatchcase(subject, pattern.lower() if fold_case else pattern):
            if negated:
                return False
            hit = True
    return hit


def address_list_matches(addr, patterns):
    """sshd's ``addr_match_list``: CIDR entries and wildcard patterns, ``!`` negates."""
    hit = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        if "/" in pattern:
            try:
                found = ipaddress.ip_address(addr) in ipaddress.ip_network(pattern, strict=False)
            except ValueError:
                found = False
        else:
            found = fnmatch.fnmatchcase(addr, pattern)
        if found:
            if negated:
                return False
            hit = True
    return hit


# What a wildcard is filled with to build a value a pattern matches; several
# fills for addresses, so that "192.168.*" becomes a whole address.
_FILLS = {"address": ("1", "1.1", "2.1", "1.1.1", "2.2.2"), "localaddress": ("1", "1.1", "2.1", "1.1.1"),
          "localport": ("22", "1"), "host": ("x",), "user": ("", "x"), "rdomain": ("", "x")}


def _candidates(criterion, patterns):
    """Values that the positive entries of ``patterns`` suggest, wildcards filled in."""
    found = []
    for pattern in patterns.split(","):
        if pattern.startswith("!") or not pattern.strip("*?"):
            continue  # a bare wildcard: the default connection value will do
        if "/" in pattern:
            try:
                network = ipaddress.ip_network(pattern, strict=False)
            except ValueError:
                continue
            found.append(str(next(iter(network.hosts()), network.network_address)))
            continue
        for fill in _FILLS[criterion]:
            found.append(pattern.replace("*", fill).replace("?", fill[:1] or "x"))
    if criterion in ("address", "localaddress"):
        found = [value for value in found if _is_address(value)]
    return found


def _is_address(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _parse_match(args):
    """``{criterion (lower case): pattern list}``, or a reason it cannot be parsed."""
    criteria, words = {}, list(args)
    while words:
        word = words.pop(0).lower()
        if word == "all":
            continue
        if word not in _CRITERIA and word != "group":
            return None, f"Match criterion {word!r} is not one idlelock can probe"
        if not words:
            return None, f"Match criterion {word!r} has no value"
        criteria[word] = words.pop(0)
    return criteria, None


def group_members(patterns, users, groups):
    """
    Accounts in any group that ``patterns`` (a Match Group pattern list) names,
    as sshd counts them: listed members and users whose primary group it is.
    ``users`` and ``groups`` as for :func:`connection_for`; sorted.
    """
    named = [(gid, members) for name, gid, members in groups
             if pattern_list_matches(name, patterns)]
    gids = {gid for gid, _ in named}
    found = {member for _, members in named for member in members}
    found |= {name for name, gid in users if gid in gids}
    return sorted(found)


def connection_for(args, users, groups):
    """
    A ``sshd -T -C`` connection that the Match block ``args`` applies to.

    ``users`` is ``[(name, primary gid)]`` and ``groups`` ``[(name, gid,
    [members])]`` from this host's account database: ``Match Group`` needs a
    real member, since sshd looks the user's groups up. Returns
    ``(connection, None)`` or ``(None, reason)``; nothing is guessed.
    """
    criteria, reason = _parse_match(args)
    if reason:
        return None, reason
    connection = {}
    checks = {
        "user": lambda v: pattern_list_matches(v, criteria["user"]),
        "host": lambda v: pattern_list_matches(v, criteria["host"], fold_case=True),
        "address": lambda v: address_list_matches(v, criteria["address"]),
        "localaddress": lambda v: address_list_matches(v, criteria["localaddress"]),
        # sshd's a2port() reads ASCII digits only; str.isdigit() also takes "２２".
        "localport": lambda v: (decimal(v) is not None
                                and pattern_list_matches(v, criteria["localport"])),
        "rdomain": lambda v: pattern_list_matches(v, criteria["rdomain"]),
    }
    if "group" in criteria:
        pool = [m for m in group_members(criteria["group"], users, groups)
                if "user" not in criteria or checks["user"](m)]
        if not pool:
            wanted = f"Group {criteria['group']}" + (
                f" and User {criteria['user']}" if "user" in criteria else "")
            return None, (f"no account in this host's user and group database matches "
                          f"{wanted}, so no connection can be built to test this block")
        connection["user"] = pool[0]
    for criterion, key in _CRITERIA.items():
        if key in connection:
            continue
        if criterion not in criteria:
            if key in DEFAULT_CONNECTION:
                connection[key] = DEFAULT_CONNECTION[key]
            continue
        pool = _candidates(criterion, criteria[criterion]) + [DEFAULT_CONNECTION.get(key, "")]
        if criterion == "user":
            pool += sorted(name for name, _ in users)
        chosen = next((value for value in pool if value and checks[criterion](value)), None)
        if chosen is None:
            return None, (f"no value satisfies {criterion.title()} {criteria[criterion]} "
                          "that idlelock can derive")
        connection[key] = chosen
    return connection, None
