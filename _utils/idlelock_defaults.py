"""
idlelock's defaults: the one source of truth for every default value.

Data only. A Python module so that every install path carries it the way it
carries the code: ``saltutil.sync_all`` copies ``_utils``, salt-ssh ships the
synced Python files, the wheel installs it as a top-level module. No fileserver
is needed to resolve a policy. Pillar ``idlelock`` (and minion config) override
these keys; ``idlelock_policy.resolve`` validates the result.

``OS_FAMILY`` holds what differs per OS family (Salt's ``os_family`` grain),
applied over ``DEFAULTS`` inside the one policy resolution, so the CLI, the
states, the audit and the formula get the same values on every host.
"""

# Rule IDs shared by the STIG checks of TMOUT, its readonly flag and its export.
_STIG_TMOUT = ["RHEL-08-020360", "RHEL-09-412035", {"id": "UBTU-22-412030", "tmout_max": 900}]

DEFAULTS = {
    "timeout": 600,
    "environment": "",
    "profile": "none",
    "root": "/",
    "proof_max_age": 6 * 3600,
    # Members of these groups get no idle logout: no TMOUT from the shell guard,
    # and on OpenSSH >= 10.5 a `Match Group` block at the end of idlelock's
    # drop-in that lifts ChannelTimeout's session timeout. shell:exempt_groups
    # is an alias of this list.
    "exempt_groups": [],
    "sshd": {
        "enabled": True,
        "client_alive_interval": "auto",
        "client_alive_count_max": 1,
        "channel_timeout": "auto",
        "unused_connection_timeout": "auto",
        "config": "/etc/ssh/sshd_config",
        "binary": "/usr/sbin/sshd",
        # The systemd unit (or init script) of sshd, and its socket unit: where
        # the socket is enabled, systemd starts sshd on the first connection
        # (Ubuntu >= 22.10) and ssh.service must not be enabled.
        "service": "sshd",
        "socket": "sshd.socket",
        "manage_service": True,
        # dropin: a 00-idlelock.conf drop-in where the main file includes one
        # first; main: a marked block at the top of sshd_config with every
        # foreign line for a managed keyword commented out, the layout text
        # scanners read. The cis and stig profiles default to main.
        "layout": "dropin",
    },
    "shell": {
        "enabled": True,
        "tmout": "auto",
        "readonly": True,
        "profile_file": "/etc/profile.d/idlelock.sh",
        "csh_file": "/etc/profile.d/idlelock.csh",
        "takeover": False,
        # posix: TMOUT=N / readonly TMOUT / export TMOUT (Debian/Ubuntu scanners);
        # declare: declare -xr TMOUT=N for bash (RedHat scanners). OS_FAMILY picks.
        "form": "posix",
        # A zsh start-up file that gets a block sourcing profile_file, for systems
        # whose zsh reads no /etc/profile (Debian: /etc/zsh/zprofile). "": none.
        "zsh_file": "",
        # The system bashrc that gets a block sourcing profile_file, for interactive
        # non-login bash (sudo -s, su without -, terminal emulators), which reads no
        # /etc/profile.d. Per OS (Debian: /etc/bash.bashrc; RedHat and
        # SUSE: /etc/bashrc, in OS_FAMILY below). "": no hook, and non-login bash is
        # not held to TMOUT.
        "bashrc_file": "",
    },
    "logind": {
        "enabled": False,
        "stop_idle_session_sec": "auto",
        "conf_file": "/etc/systemd/logind.conf.d/idlelock.conf",
        # Comment out (in place, with a .idlelock.bak copy) every foreign
        # StopIdleSessionSec that systemd would apply after idlelock's drop-in.
        "takeover": False,
    },
    "schedule": {
        "enabled": True,
        "minutes": 30,
        "splay": 120,
        "highstate": False,
        "returner": "",
    },
    # Thresholds per compliance profile. A site adds its own under
    # `idlelock:profiles:<name>` in pillar, with the same keys. `rules` maps an
    # idlelock.audit check to the rule IDs its findings cite; a rule given as
    # {id: ..., <threshold>: ...} has its own limit (cited only when that fails).
    # A check without rules cites the idlelock key instead. `policy` is reserved.
    # `defaults` sets policy values where pillar does not (a site's own value
    # wins). `scanner` holds what the auditor's text scanner demands per SCAP
    # Security Guide rule, as the packaged content checks it (Debian's
    # ssg-debderived 0.1.65: ssg-ubuntu2204-ds.xml, profile cis_level1_server;
    # ssg-ubuntu2004-ds.xml, profile stig); `auto` values never exceed it, and
    # idlelock.audit reports where the scanner's reading and the effect differ.
    "profiles": {
        "none": {},
        "cis": {
            "timeout_max": 900,
            "client_alive_interval_min": 1,
            "client_alive_count_max_min": 1,
            "tmout_min": 1,
            "tmout_max": 900,
            "readonly": True,
            "exported": True,
            "defaults": {
                # The benchmark's remediation value, which the scanner checks for equality.
                "sshd": {"layout": "main", "client_alive_count_max": 3},
                "shell": {"form": "declare"},
            },
            "scanner": {
                # sshd_idle_timeout_value refined to 5_minutes, var_sshd_set_keepalive
                # to 3; var_accounts_tmout left at its default, 600.
                "sshd_set_idle_timeout": {"client_alive_interval_min": 1,
                                          "client_alive_interval_max": 300},
                "sshd_set_keepalive": {"client_alive_count_max_min": 3,
                                       "client_alive_count_max_max": 3},
                "accounts_tmout": {"tmout_min": 1, "tmout_max": 600},
            },
            # CIS Debian Linux 12 Benchmark: 5.1.7 "Ensure sshd ClientAliveInterval
            # and ClientAliveCountMax are configured", 5.4.3.2 "Ensure default user
            # shell timeout is configured" (public index of the IDs:
            # github.com/ComplianceAsCode/content, controls/cis_debian12.yml).
            "rules": {
                "client_alive_interval": ["CIS 5.1.7"],
                "client_alive_count_max": ["CIS 5.1.7"],
                "tmout": ["CIS 5.4.3.2"],
                "tmout_readonly": ["CIS 5.4.3.2"],
                "tmout_exported": ["CIS 5.4.3.2"],
            },
        },
        "stig": {
            "timeout_max": 600,
            "client_alive_interval_min": 1,
            "client_alive_interval_max": 600,
            "client_alive_count_max_min": 1,
            "client_alive_count_max_max": 1,
            "tmout_min": 1,
            "tmout_max": 600,
            "readonly": True,
            "exported": True,
            "defaults": {
                "sshd": {"layout": "main", "client_alive_count_max": 1},
                "shell": {"form": "declare"},
            },
            "scanner": {
                # sshd_idle_timeout_value refined to 10_minutes, var_sshd_set_keepalive
                # to 1, var_accounts_tmout to 10_min.
                "sshd_set_idle_timeout": {"client_alive_interval_min": 1,
                                          "client_alive_interval_max": 600},
                "sshd_set_keepalive": {"client_alive_count_max_min": 1,
                                       "client_alive_count_max_max": 1},
                "accounts_tmout": {"tmout_min": 1, "tmout_max": 600},
            },
            "rules": {
                "client_alive_interval": ["RHEL-08-010201", "RHEL-09-255100", "UBTU-22-255035"],
                "client_alive_count_max": ["RHEL-08-010200", "RHEL-09-255095", "UBTU-22-255030"],
                "tmout": _STIG_TMOUT,
                "tmout_readonly": _STIG_TMOUT,
                "tmout_exported": _STIG_TMOUT,
            },
        },
    },
}

# Per OS family, over DEFAULTS (pillar still wins). A family missing here gets
# DEFAULTS as they are: the portable POSIX profile and the upstream unit names.
OS_FAMILY = {
    # Debian and Ubuntu: the unit is ssh.service; tcsh reads /etc/csh/login.d;
    # zsh reads /etc/zsh/zprofile, not /etc/profile; CIS/STIG scanners for
    # Ubuntu look for the three-line TMOUT form; bash reads /etc/bash.bashrc in
    # every interactive shell that is not a login (bash built with SYS_BASHRC).
    "Debian": {
        "sshd": {"service": "ssh", "socket": "ssh.socket"},
        "shell": {"form": "posix", "zsh_file": "/etc/zsh/zprofile",
                  "csh_file": "/etc/csh/login.d/idlelock.csh",
                  "bashrc_file": "/etc/bash.bashrc"},
    },
    # RHEL, Fedora and clones: the scanners' check (e.g. RHEL-08-020360)
    # expects `declare -xr TMOUT=N` for bash; the system bashrc is /etc/bashrc
    # (CIS lists it as a place TMOUT must be set).
    "RedHat": {"sshd": {"service": "sshd", "socket": "sshd.socket"},
               "shell": {"form": "declare", "bashrc_file": "/etc/bashrc"}},
    "Suse": {"sshd": {"service": "sshd", "socket": "sshd.socket"},
             "shell": {"form": "posix", "bashrc_file": "/etc/bashrc"}},
    "Arch": {"sshd": {"service": "sshd", "socket": "sshd.socket"}},
    "Gentoo": {"sshd": {"service": "sshd", "socket": "sshd.socket"}},
    # No systemd: no socket unit to look at.
    "FreeBSD": {"sshd": {"service": "sshd", "socket": ""}},
}
