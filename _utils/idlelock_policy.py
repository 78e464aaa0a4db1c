"""
Resolve and validate an idlelock policy.

Pure logic: no I/O. The caller passes the defaults (``idlelock_defaults.DEFAULTS``), the
raw pillar/config data and the OpenSSH version; this module returns the resolved
policy, or the list of everything that is wrong with the input.

Every value is checked here before it can reach a file, because ``sshd -t`` does
not catch an injected directive (docs/how-idle-sessions-end.md §1) and a shell profile executes
whatever it is given.
"""

import copy
import re
from collections.abc import Mapping

import idlelock_defaults

AUTO = "auto"
NONE = "none"
UNMANAGED = "unmanaged"

# One week: longer "idle timeouts" are typos (an extra zero, milliseconds).
MAX_SECONDS = 7 * 24 * 3600
MAX_COUNT = 100

# OpenSSH versions at which a behaviour appears (docs/how-idle-sessions-end.md §1).
V_COUNTMAX_ZERO_DISABLES = (8, 2)
V_CHANNEL_TIMEOUT = (9, 2)
V_GLOBAL_CHANNEL_TYPE = (9, 7)
# sshd applies a ChannelTimeout set inside Match to the session: upstream 10.5p1
# (openssh-portable commit caa6d7d19, docs/how-idle-sessions-end.md). Measured by tests/matrix on real sessions:
# 10.0p2 and 10.3p1 parse it, report it in `sshd -T -C` and ignore it; 10.6p1 applies it.
V_CHANNEL_TIMEOUT_IN_MATCH = (10, 5)

# The schedule interval: each unit in seconds. Salt's scheduler adds them up.
SCHEDULE_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}
SCHEDULE_JOB = "idlelock"

SSHD_KEYWORDS = {
    "client_alive_interval": "ClientAliveInterval",
    "client_alive_count_max": "ClientAliveCountMax",
    "channel_timeout": "ChannelTimeout",
    "unused_connection_timeout": "UnusedConnectionTimeout",
}

# [0-9], not \d: sshd's convtime() reads ASCII digits only; \d (and int()) would take
# "６００" (full-width) as 600 (sshd_config(5) TIME FORMATS).
_TIME_RE = re.compile(r"(?:[0-9]+[sSmMhHdDwW]?)+")
_TIME_PART_RE = re.compile(r"([0-9]+)([sSmMhHdDwW]?)")
# ASCII digits only: what sshd (-T output, convtime), getent, OVAL's PCRE and
# systemd take for a number. int() and str.isdigit() also take "６００", "٣٠٠",
# "²" (isdigit, and then int() raises), "6_00", "+600" and " 600\u3000".
_DECIMAL_RE = re.compile(r"[0-9]+")


def decimal(text):
    """``int`` of ``text`` when it is ASCII digits ``0-9`` only, else ``None``."""
    if not (isinstance(text, str) and _DECIMAL_RE.fullmatch(text)):
        return None
    # int() refuses more than 4300 digits (a file can hold any number): by parts.
    number = 0
    for start in range(0, len(text), 4000):
        part = text[start:start + 4000]
        number = number * 10 ** len(part) + int(part)
    return number


_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATH_RE = re.compile(r"/[A-Za-z0-9_.+@%,:=~/-]*")
_PATH_RULE = ("an absolute path of letters, digits, '/' and '_.+@%,:=~-' (no spaces, quotes, "
              "shell metacharacters or '..')")
_SERVICE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]{0,127}")
_PROFILE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_GROUP_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_LABEL_RE = re.compile(r"[A-Za-z0-9 ._/:@+-]{0,64}")
_RETURNER_RE = re.compile(r"[A-Za-z0-9_.,-]{0,128}")
# Channel labels sshd matches ChannelTimeout types against (sshd_config(5)).
# "session" alone and "global" before 9.7 are accepted by sshd but do nothing.
_CHANNEL_TYPE_RE = re.compile(
    r"session:[A-Za-z0-9_*?:.@-]+|agent-connection|direct-tcpip|tcpip"
    r"|direct-streamlocal@openssh\.com|forwarded-tcpip"
    r"|forwarded-streamlocal@openssh\.com|tun-connection|x11-connection|global|\*"
)


class Invalid(ValueError):
    """A value that is not accepted; the message says what is accepted."""


_SHOWN = 160  # characters of a rejected value an error repeats


def _plain(value):
    """``value`` with every mapping a ``dict`` and every sequence a ``list``."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _show(value):
    """
    Render a rejected value so that hidden newlines stay visible: as the YAML a
    site wrote reads, not as Salt's ``OrderedDict([...])`` the renderer built,
    cut at ``_SHOWN`` characters (a whole pillar tree in one line helps nobody).
    """
    text = repr(_plain(value))
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


# ---------------------------------------------------------------- validators
def sshd_time_seconds(text):
    """Seconds in an sshd time value such as ``90``, ``5m`` or ``1h30m`` (not validated)."""
    return sum(decimal(num) * _TIME_UNITS[unit.lower()] for num, unit in _TIME_PART_RE.findall(text))


def parse_seconds(value, minimum=0, maximum=MAX_SECONDS):
    """
    Return ``value`` as whole seconds.

    Accepts an integer or an sshd time string (``90``, ``5m``, ``1h30m``).
    """
    accepted = (
        f"seconds: an integer {minimum}..{maximum} or an sshd time such as 5m"
    )
    if isinstance(value, bool):
        raise Invalid(accepted)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and _TIME_RE.fullmatch(value):
        seconds = sshd_time_seconds(value)
    else:
        raise Invalid(accepted)
    if not minimum <= seconds <= maximum:
        raise Invalid(accepted)
    return seconds


def _seconds(minimum):
    return lambda value: parse_seconds(value, minimum=minimum)


def _whole(maximum):
    """A plain integer 0..maximum: counts and intervals take no units."""

    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise Invalid(f"a whole number 0..{maximum} (no units)")
        return value

    return check


_count = _whole(MAX_COUNT)


def _boolean(value):
    if not isinstance(value, bool):
        raise Invalid("true or false")
    return value


def _abs_path(value):
    # Paths reach shell start-up files (zsh's hook sources the profile file) and
    # the commands of idlelock's probes: no character a shell would interpret.
    if not isinstance(value, str) or not _PATH_RE.fullmatch(value) or "/../" in value + "/":
        raise Invalid(_PATH_RULE)
    return value


def _optional_path(value):
    """An absolute path, or "" for "not managed here"."""
    if value == "":
        return value
    try:
        return _abs_path(value)
    except Invalid:
        raise Invalid(_PATH_RULE + ", or empty") from None


def _pattern(regex, what):
    def check(value):
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise Invalid(what)
        return value

    return check


def _group_list(value):
    accepted = "a list of group names (letters, digits, '_', '.', '-')"
    if not isinstance(value, list):
        raise Invalid(accepted)
    for group in value:
        if not isinstance(group, str) or not _GROUP_RE.fullmatch(group):
            raise Invalid(accepted)
    return list(value)


def _keyword(base):
    """A managed keyword: auto, none, unmanaged, or a value for ``base``."""

    def check(value):
        if value in (AUTO, NONE, UNMANAGED):
            return value
        try:
            return base(value)
        except Invalid as exc:
            raise Invalid(f"auto, none, unmanaged, or {exc}") from None

    return check


def parse_channel_timeout(value):
    """
    Return a ChannelTimeout list as canonical ``type=seconds`` strings.

    Accepts a list of ``type=time`` strings or a mapping ``{type: time}``.
    """
    if isinstance(value, dict) and value:
        items = [(key, val) for key, val in value.items()]
    elif isinstance(value, list) and value:
        items = []
        for entry in value:
            if not isinstance(entry, str) or entry.count("=") != 1:
                raise Invalid("a list of type=seconds entries such as session:*=600")
            items.append(tuple(entry.split("=")))
    else:
        raise Invalid("a list of type=seconds entries such as session:*=600")
    canonical = []
    for ctype, seconds in items:
        if ctype == "session":
            raise Invalid(
                "'session=' is accepted by sshd but closes nothing; use 'session:*='"
            )
        if not isinstance(ctype, str) or not _CHANNEL_TYPE_RE.fullmatch(ctype):
            raise Invalid(
                f"unknown channel type {ctype!r}; use session:*, session:shell, "
                "session:command, session:subsystem:NAME, direct-tcpip, "
                "forwarded-tcpip, x11-connection, agent-connection, tun-connection"
            )
        canonical.append(f"{ctype}={parse_seconds(seconds, minimum=1)}")
    return canonical


def _profiles(value):
    accepted = "a mapping of profile name to thresholds"
    if not isinstance(value, dict):
        raise Invalid(accepted)
    for name, thresholds in value.items():
        if not isinstance(name, str) or not _PROFILE_NAME_RE.fullmatch(name):
            raise Invalid(f"{accepted}; bad profile name {name!r}")
        if name == POLICY_PROFILE:
            raise Invalid(f"{accepted}; {name!r} is reserved: idlelock.audit derives it "
                          "from the resolved policy")
        if not isinstance(thresholds, dict):
            raise Invalid(f"{accepted}; {name!r} is not a mapping")
        for key in thresholds:
            if key not in PROFILE_KEYS:
                raise Invalid(
                    f"{accepted}; unknown threshold {name}:{key}, known: "
                    + ", ".join(sorted(PROFILE_KEYS))
                )
    # The canonical values ("5m" -> 300), as every other key is resolved.
    return {name: {key: PROFILE_KEYS[key](limit) for key, limit in thresholds.items()}
            for name, thresholds in value.items()}


# Thresholds a profile may set. ``timeout_max`` also bounds the idle logout
# that idlelock.audit requires; ``rules`` names the rule IDs it reports.
THRESHOLD_KEYS = {
    "timeout_max": _seconds(1),
    "client_alive_interval_min": _seconds(0),
    "client_alive_interval_max": _seconds(0),
    "client_alive_count_max_min": _count,
    "client_alive_count_max_max": _count,
    "tmout_min": _seconds(0),
    "tmout_max": _seconds(0),
    "readonly": _boolean,
    "exported": _boolean,
    "stop_idle_session_sec_max": _seconds(0),
}

# The checks of idlelock.audit that a profile can attach rule IDs to.
AUDIT_CHECKS = (
    "client_alive_interval",
    "client_alive_count_max",
    "tmout",
    "tmout_readonly",
    "tmout_exported",
    "tmout_conflict",
    "stop_idle_session_sec",
    "idle_logout",
    "reload",
)
# ``profile=policy`` in idlelock.audit: thresholds derived from the resolved policy.
POLICY_PROFILE = "policy"
_RULE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:/()-]{0,63}")


def _rules(value):
    """
    ``{check: [rule, ...]}``: a rule is an ID, or ``{id: ID, <threshold>: value}``
    when that rule's own limit differs from the profile's (UBTU-22-412030 allows
    TMOUT up to 900 where the RHEL STIGs stop at 600).
    """
    accepted = ("a mapping of check (" + ", ".join(AUDIT_CHECKS) + ") to a list of rule "
                "IDs or {id: ID, <threshold>: value}")
    if not isinstance(value, dict):
        raise Invalid(accepted)
    for check, rules in value.items():
        if check not in AUDIT_CHECKS or not isinstance(rules, list) or not rules:
            raise Invalid(f"{accepted}; bad entry {check!r}")
        for rule in rules:
            if isinstance(rule, dict):
                rule_id, limits = rule.get("id"), {k: v for k, v in rule.items() if k != "id"}
            else:
                rule_id, limits = rule, {}
            if not isinstance(rule_id, str) or not _RULE_ID_RE.fullmatch(rule_id):
                raise Invalid(f"{accepted}; bad rule ID {rule_id!r} under {check!r}")
            for key, limit in limits.items():
                if key not in THRESHOLD_KEYS:
                    raise Invalid(f"{accepted}; unknown threshold {key!r} in rule {rule_id}")
                THRESHOLD_KEYS[key](limit)
    return value


# What an auditor's text scanner demands, per rule of the SCAP Security Guide
# (SSG): the thresholds its OVAL check applies to the text it reads.
SCANNER_RULES = {
    "sshd_set_idle_timeout": ("client_alive_interval_min", "client_alive_interval_max"),
    "sshd_set_keepalive": ("client_alive_count_max_min", "client_alive_count_max_max"),
    "accounts_tmout": ("tmout_min", "tmout_max"),
}
# Policy sections a profile may give defaults for (below pillar, above defaults.yaml).
PROFILE_DEFAULT_SECTIONS = ("sshd", "shell")


def _scanner(value):
    """``{SSG rule: {threshold: value}}``: the limits a text scanner checks."""
    accepted = "a mapping of SSG rule (" + ", ".join(SCANNER_RULES) + ") to its thresholds"
    if not isinstance(value, dict):
        raise Invalid(accepted)
    for rule, limits in value.items():
        if rule not in SCANNER_RULES or not isinstance(limits, dict) or not limits:
            raise Invalid(f"{accepted}; bad entry {rule!r}")
        for key in limits:
            if key not in SCANNER_RULES[rule]:
                raise Invalid(f"{accepted}; {rule} takes " + ", ".join(SCANNER_RULES[rule]))
    return {rule: {key: THRESHOLD_KEYS[key](limit) for key, limit in limits.items()}
            for rule, limits in value.items()}


def _profile_defaults(value):
    """Policy values a profile sets where pillar does not: ``{sshd: {...}, shell: {...}}``."""
    accepted = "a mapping of " + " and ".join(PROFILE_DEFAULT_SECTIONS) + " keys to values"
    if not isinstance(value, dict) or set(value) - set(PROFILE_DEFAULT_SECTIONS):
        raise Invalid(accepted)
    errors = []
    clean = _validate(value, {section: SCHEMA[section] for section in value}, "defaults", errors)
    if errors:
        raise Invalid(f"{accepted}; " + "; ".join(errors))
    return clean


PROFILE_KEYS = dict(THRESHOLD_KEYS, rules=_rules, scanner=_scanner, defaults=_profile_defaults)

SCHEMA = {
    "timeout": _seconds(1),
    "environment": _pattern(_LABEL_RE, "a short label (letters, digits, ' ._/:@+-')"),
    "profile": _pattern(_PROFILE_NAME_RE, "a profile name such as none, cis or stig"),
    "root": _abs_path,
    # How long a state run may answer its probes from the record of an earlier
    # run whose inputs are unchanged (see idlelock_record); 0: prove every run.
    "proof_max_age": _seconds(0),
    "profiles": _profiles,
    # Groups exempt from idle logout, for every mechanism that can honour it:
    # the shell guard, and sshd's Match Group where ChannelTimeout works in Match.
    "exempt_groups": _group_list,
    "sshd": {
        "enabled": _boolean,
        "client_alive_interval": _keyword(_seconds(0)),
        "client_alive_count_max": _keyword(_count),
        "channel_timeout": _keyword(parse_channel_timeout),
        "unused_connection_timeout": _keyword(_seconds(0)),
        "config": _abs_path,
        "binary": _abs_path,
        "service": _pattern(re.compile(f"(?:{_SERVICE_RE.pattern})?"), "a service name"),
        "socket": _pattern(re.compile(f"(?:{_SERVICE_RE.pattern})?"), "a socket unit name, or empty"),
        "manage_service": _boolean,
        # dropin: 00-idlelock.conf; main: a block at the top of sshd_config, the
        # layout text scanners read (the cis and stig profiles default to it).
        "layout": _pattern(re.compile(r"dropin|main"), "dropin or main"),
    },
    "shell": {
        "enabled": _boolean,
        "tmout": lambda v: v if v == AUTO else parse_seconds(v, minimum=0),
        "readonly": _boolean,
        "profile_file": _abs_path,
        "csh_file": _abs_path,
        "exempt_groups": _group_list,  # alias of the top-level exempt_groups
        "takeover": _boolean,
        "form": _pattern(re.compile(r"posix|declare"), "posix or declare"),
        "zsh_file": _optional_path,
        "bashrc_file": _optional_path,
    },
    "logind": {
        "enabled": _boolean,
        "stop_idle_session_sec": lambda v: v if v == AUTO else parse_seconds(v, 0),
        "conf_file": _abs_path,
        "takeover": _boolean,
    },
    "schedule": {
        "enabled": _boolean,
        "seconds": _whole(MAX_SECONDS),
        "minutes": _whole(MAX_SECONDS // 60),
        "hours": _whole(MAX_SECONDS // 3600),
        "splay": _whole(MAX_SECONDS),
        "highstate": _boolean,
        "returner": _pattern(_RETURNER_RE, "a returner name, or empty"),
    },
}


# ---------------------------------------------------------------- resolution
def route(kwargs, prefer=None):
    """
    Keyword arguments (CLI or state) as a policy mapping, each key put where the
    schema has it: in section ``prefer`` first, then at the top level, then in
    the one section that has it. A key found nowhere goes to ``prefer`` (or the
    top level), so that validation names it. Salt's ``__pub_*`` job data is dropped.
    """
    sections = [name for name, schema in SCHEMA.items() if isinstance(schema, dict)]
    overrides = {}
    for key, value in kwargs.items():
        if key.startswith("__"):
            continue
        if prefer and key in SCHEMA[prefer]:
            section = prefer
        elif key in SCHEMA and key not in sections:
            section = None
        else:
            owners = [name for name in sections if key in SCHEMA[name]]
            section = owners[0] if len(owners) == 1 else prefer
        if section:
            overrides.setdefault(section, {})[key] = value
        else:
            overrides[key] = value
    return overrides


def defaults_for(os_family):
    """idlelock's defaults with the per-OS data of ``os_family`` (Salt's grain) over them."""
    return merge(idlelock_defaults.DEFAULTS, idlelock_defaults.OS_FAMILY.get(os_family))


def merge(base, override):
    """Return ``base`` recursively updated with ``override`` (neither is changed)."""
    result = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _validate(data, schema, prefix, errors):
    """Check ``data`` against ``schema``; return the normalised copy."""
    if not isinstance(data, dict):
        errors.append(f"{prefix}: {_show(data)} is not accepted; expected a mapping")
        return {}
    clean = {}
    for key, value in data.items():
        name = f"{prefix}:{key}"
        if key not in schema:
            errors.append(
                f"{name}: unknown key; known keys here: " + ", ".join(sorted(schema))
            )
            continue
        rule = schema[key]
        if isinstance(rule, dict):
            clean[key] = _validate(value, rule, name, errors)
            continue
        try:
            clean[key] = rule(value)
        except Invalid as exc:
            errors.append(f"{name}: {_show(value)} is not accepted; expected {exc}")
    return clean


def version_at_least(version, minimum):
    """True when the (major, minor) ``version`` is known and >= ``minimum``."""
    return version is not None and tuple(version[:2]) >= minimum


def _resolve_sshd(sshd, timeout, version, errors, warnings, interval_limits=()):
    """Resolve ``auto`` for this OpenSSH and refuse what it cannot do."""
    shown = "unknown" if version is None else ".".join(map(str, version[:2]))
    has_channel_timeout = version_at_least(version, V_CHANNEL_TIMEOUT)
    if sshd.get("client_alive_interval") == AUTO:
        sshd["client_alive_interval"] = min([timeout, 300, *interval_limits])
    for key in ("channel_timeout", "unused_connection_timeout"):
        value = sshd.get(key)
        if value == AUTO:
            if has_channel_timeout:
                sshd[key] = [f"session:*={timeout}"] if key == "channel_timeout" else timeout
            else:
                sshd[key] = UNMANAGED
        elif value != UNMANAGED and not has_channel_timeout:
            errors.append(
                f"idlelock:sshd:{key}: {_show(value)} is not accepted; "
                f"{SSHD_KEYWORDS[key]} needs OpenSSH >= 9.2 and the managed sshd is {shown}; "
                "use auto or unmanaged"
            )
    channel = sshd.get("channel_timeout")
    if isinstance(channel, list) and not version_at_least(version, V_GLOBAL_CHANNEL_TYPE):
        if any(entry.startswith("global=") for entry in channel):
            errors.append(
                f"idlelock:sshd:channel_timeout: {_show(channel)} is not accepted; "
                f"'global=' needs OpenSSH >= 9.7 (the managed sshd is {shown}); "
                "use 'session:*=' for interactive sessions"
            )
    count = sshd.get("client_alive_count_max")
    if count in (0, NONE) and version_at_least(version, V_COUNTMAX_ZERO_DISABLES):
        warnings.append(
            "ClientAliveCountMax 0 disables ClientAlive disconnection since "
            "OpenSSH 8.2: dead peers are never dropped"
        )
    if not _closes_idle_sessions(channel):
        warnings.append(
            f"OpenSSH {shown}: no ChannelTimeout session:* is set, so sshd cannot "
            "close an idle but live session; idle logout rests on the shell timeout"
        )


def _resolve_exempt_groups(policy, clean, errors):
    """
    The one ``exempt_groups`` list, from the top-level key or its alias
    ``shell:exempt_groups``; the resolved policy carries it under both names
    (the shell side reads ``shell:exempt_groups``).
    """
    given = clean.get("exempt_groups")
    alias = clean.get("shell", {}).get("exempt_groups") if isinstance(clean.get("shell"), dict) \
        else None
    if given is not None and alias is not None and given != alias:
        errors.append(
            f"idlelock:shell:exempt_groups: {_show(alias)} is not accepted next to "
            f"idlelock:exempt_groups {_show(given)}; it is an alias of that list: set one"
        )
    groups = given if given is not None else alias
    if groups is None:
        # Neither in pillar: a profile's defaults may give the list under its alias
        # (profile defaults set sshd and shell keys only), above defaults.yaml's.
        groups = policy["shell"].get("exempt_groups", policy["exempt_groups"])
    policy["exempt_groups"] = list(groups)
    policy["shell"]["exempt_groups"] = list(groups)


def _resolve_sshd_exemption(policy, version, warnings):
    """
    Whether sshd itself exempts ``exempt_groups`` from ChannelTimeout
    (``sshd:exempt``), and the warning when it cannot although it closes
    idle sessions.
    """
    sshd, groups = policy["sshd"], policy["exempt_groups"]
    closes = _closes_idle_sessions(sshd.get("channel_timeout"))
    in_match = version_at_least(version, V_CHANNEL_TIMEOUT_IN_MATCH)
    sshd["exempt"] = bool(groups) and closes and in_match
    if groups and closes and not in_match:
        shown = "unknown" if version is None else ".".join(map(str, version[:2]))
        warnings.append(
            f"OpenSSH {shown} ignores ChannelTimeout in Match (applied from 10.5), so sshd "
            f"cannot exempt exempt_groups ({', '.join(groups)}): their idle SSH sessions "
            f"close after {policy['timeout']} s like everyone's, and the shell guard is "
            "the only exemption"
        )


def _resolve_schedule(schedule, given, errors):
    """An interval given in any unit replaces the default interval as a whole."""
    given = given if isinstance(given, dict) else {}
    if any(unit in given for unit in SCHEDULE_UNITS):
        for unit in SCHEDULE_UNITS:
            if unit not in given:
                schedule.pop(unit, None)
    if schedule["enabled"] and not schedule_interval(schedule):
        errors.append(
            "idlelock:schedule: an interval of 0 seconds is not accepted; expected "
            "seconds, minutes or hours adding up to at least 1 second"
        )


def schedule_interval(schedule):
    """The schedule's interval in seconds: its units added up, as Salt's scheduler does."""
    return sum(schedule.get(unit, 0) * factor for unit, factor in SCHEDULE_UNITS.items())


# ChannelTimeout types that cover every interactive session: session:shell
# misses `ssh -t host bash -i` (session:command), docs/how-idle-sessions-end.md §1.
IDLE_CHANNEL_TYPES = ("session:*", "*")


def _closes_idle_sessions(channel):
    return isinstance(channel, list) and any(
        entry.split("=")[0] in IDLE_CHANNEL_TYPES for entry in channel
    )


def _check_profile(policy, thresholds, errors):
    """Refuse a policy weaker than its compliance profile."""
    name = policy["profile"]
    sshd = policy.get("sshd", {})
    shell = policy.get("shell", {})

    def numeric(value, off=0):
        if value == NONE:
            return off
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    checks = [
        ("idlelock:timeout", policy["timeout"], "timeout_min", "timeout_max"),
        (
            "idlelock:sshd:client_alive_interval",
            numeric(sshd.get("client_alive_interval")) if sshd.get("enabled") else None,
            "client_alive_interval_min",
            "client_alive_interval_max",
        ),
        (
            "idlelock:sshd:client_alive_count_max",
            numeric(sshd.get("client_alive_count_max")) if sshd.get("enabled") else None,
            "client_alive_count_max_min",
            "client_alive_count_max_max",
        ),
        (
            "idlelock:shell:tmout",
            numeric(shell.get("tmout")) if shell.get("enabled") else None,
            "tmout_min",
            "tmout_max",
        ),
    ]
    for key, value, low_key, high_key in checks:
        if value is None:
            continue
        low, high = thresholds.get(low_key), thresholds.get(high_key)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else 0}..{high if high is not None else '∞'}"
            errors.append(
                f"{key}: {_show(value)} is weaker than profile {name!r}, which requires {bounds}"
            )
    if thresholds.get("readonly") and shell.get("enabled") and not shell.get("readonly"):
        errors.append(
            f"idlelock:shell:readonly: False is weaker than profile {name!r}, "
            "which requires a readonly, exported TMOUT"
        )


def _limits(profile, key):
    """Every ``key`` limit of a profile: its own and its text scanner's."""
    found = [profile[key]] if isinstance(profile.get(key), int) else []
    for limits in (profile.get("scanner") or {}).values():
        if isinstance(limits.get(key), int):
            found.append(limits[key])
    return found


def resolve(raw, defaults, version=None, judge_profile=True):
    """
    Resolve a policy.

    ``raw`` is the ``idlelock`` mapping from pillar and minion config, ``defaults``
    ``idlelock_defaults.DEFAULTS``, ``version`` the OpenSSH version
    tuple (or ``None`` when unknown). Returns ``(policy, errors, warnings)``;
    ``policy`` is only meaningful when ``errors`` is empty.

    The chosen profile's ``defaults`` apply where pillar sets nothing, and
    ``auto`` never exceeds the profile's (or its scanner's) maximum: with
    ``profile: cis`` and ``timeout: 900``, TMOUT is 600, the most that the
    packaged CIS content's ``accounts_tmout`` accepts. ``judge_profile=False``
    skips the "weaker than its profile" refusal (``idlelock.audit`` judges a
    host against any profile, whatever its own policy says).
    """
    errors, warnings = [], []
    clean = _validate(raw or {}, SCHEMA, "idlelock", errors)
    built_in = sorted(set(clean.get("profiles", {})) & set(defaults.get("profiles", {})))
    if built_in:
        # A pillar that redefined cis would make every report labelled CIS judge
        # against the site's thresholds instead.
        errors.append(f"idlelock:profiles: {', '.join(map(repr, built_in))} is built in and "
                      "cannot be redefined; give a site profile its own name "
                      "(e.g. cis-site) and set profile: to it")
        clean["profiles"] = {name: limits for name, limits in clean["profiles"].items()
                             if name not in built_in}
    # A compliance profile's own defaults (e.g. the benchmark's ClientAliveCountMax)
    # sit between defaults.yaml and pillar: a site's explicit value still wins.
    chosen = merge(defaults, clean).get("profiles", {}).get(
        clean.get("profile", defaults.get("profile")), {})
    policy = merge(merge(defaults, chosen.get("defaults", {})), clean)
    timeout = policy["timeout"]
    profiles = policy.get("profiles", {})
    if policy["profile"] not in profiles:
        errors.append(
            f"idlelock:profile: {_show(policy['profile'])} is not accepted; "
            "expected one of " + ", ".join(sorted(profiles))
        )
    if policy["shell"]["tmout"] == AUTO:
        policy["shell"]["tmout"] = min([timeout] + _limits(chosen, "tmout_max"))
    if policy["logind"]["stop_idle_session_sec"] == AUTO:
        policy["logind"]["stop_idle_session_sec"] = timeout
    _resolve_exempt_groups(policy, clean, errors)
    if policy["sshd"]["enabled"]:
        _resolve_sshd(policy["sshd"], timeout, version, errors, warnings,
                      _limits(chosen, "client_alive_interval_max"))
        _resolve_sshd_exemption(policy, version, warnings)
    _resolve_schedule(policy["schedule"], clean.get("schedule"), errors)
    if judge_profile and not errors and policy["profile"] in profiles:
        _check_profile(policy, profiles[policy["profile"]], errors)
    policy["warnings"] = warnings
    return policy, errors, warnings


# Idle timeouts below this close an administrator's idle session within seconds:
# accepted (tests use a few seconds), but each state that writes one says so.
SHORT_TIMEOUT = 60


def short_timeouts(policy, section):
    """
    Warnings, one per idle timeout under ``SHORT_TIMEOUT`` s that ``section``
    (``sshd``, ``shell``, ``logind``) writes, each naming the key and the value.
    """
    part = policy.get(section, {})
    found = []
    if section == "sshd":
        channel = part.get("channel_timeout")
        for entry in channel if isinstance(channel, list) else ():
            found.append((f"sshd:channel_timeout {entry}", int(entry.rsplit("=", 1)[1])))
        unused = part.get("unused_connection_timeout")
        if isinstance(unused, int) and not isinstance(unused, bool):
            found.append((f"sshd:unused_connection_timeout {unused}", unused))
    elif section == "shell":
        found.append((f"shell:tmout {part.get('tmout')}", part.get("tmout")))
    elif section == "logind":
        found.append((f"logind:stop_idle_session_sec {part.get('stop_idle_session_sec')}",
                      part.get("stop_idle_session_sec")))
    return [
        f"{what}: {seconds} s is under {SHORT_TIMEOUT} s, so every idle session, the "
        f"administrator's included, is closed within {seconds} s (a typo for {seconds}0?)"
        for what, seconds in found
        if isinstance(seconds, int) and not isinstance(seconds, bool) and 0 < seconds < SHORT_TIMEOUT
    ]


# ---------------------------------------------------------------- rendering
def sshd_directives(sshd):
    """
    Return ``{Keyword: value text}`` for every keyword idlelock manages.

    ``unmanaged`` keywords are left out; ``none`` means "off".
    """
    directives = {}
    for key, keyword in SSHD_KEYWORDS.items():
        value = sshd.get(key, UNMANAGED)
        if value == UNMANAGED:
            continue
        if value == NONE:
            off = "none" if keyword in ("ChannelTimeout", "UnusedConnectionTimeout") else "0"
            directives[keyword] = off
        elif isinstance(value, list):
            directives[keyword] = " ".join(value)
        else:
            directives[keyword] = str(value)
    return directives


def schedule_unavailable(salt_ssh):
    """
    Why the minion-side schedule cannot exist on this host (``""`` when it can).

    Under salt-ssh no salt-minion daemon runs on the target: a job written
    there (into salt-ssh's temporary directory) would never run. The schedule
    belongs on the master then: its own ``schedule`` or cron running salt-ssh.
    """
    if not salt_ssh:
        return ""
    return ("salt-ssh: no salt-minion runs on this host, so no minion schedule can re-apply "
            "idlelock here; nothing was added. Schedule it on the master instead (a master "
            "schedule or cron running: salt-ssh '<target>' state.apply idlelock)")


def schedule_job(schedule, offline=False):
    """
    Return the keyword arguments of Salt's ``schedule.present`` for the idlelock job.

    The job runs ``state.apply idlelock`` (``state.highstate`` with
    ``highstate: true``) every interval plus a random ``splay``, never two at a
    time (``maxrunning: 1``), and persists in ``minion.d/_schedule.conf``.
    ``offline`` edits that file directly, for a host with no salt-minion
    daemon running (masterless ``salt-call --local``).
    """
    job = {"name": SCHEDULE_JOB, "maxrunning": 1, "persist": True, "offline": offline}
    if schedule["highstate"]:
        job["function"] = "state.highstate"
    else:
        job["function"] = "state.apply"
        job["job_args"] = ["idlelock"]
    job.update((unit, schedule[unit]) for unit in SCHEDULE_UNITS if unit in schedule)
    if schedule.get("splay"):
        job["splay"] = schedule["splay"]
    returners = [name for name in schedule.get("returner", "").split(",") if name]
    if returners:
        # Salt takes one returner as a string, several as a list.
        job["returner"] = returners[0] if len(returners) == 1 else returners
    return job
