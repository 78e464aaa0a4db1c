"""
A synthetic fleet for the report: audit returns of hundreds or thousands of
hosts, judged by idlelock's own ``idlelock_audit.judge`` from probed-looking
facts, so the findings, rule IDs and fixes are the ones real hosts produce.

The 500-host fleet is the one issue 15 describes: 150 dev, 100 staging and
250 prod hosts, 83 non-compliant and 19 silent; the high-severity "no idle
logout" hits 56 hosts and a medium ClientAliveInterval finding 57. ``scale``
multiplies every count (5,000 hosts at ``scale=10``). Deterministic.
"""

import pathlib
import random

import idlelock_audit
import idlelock_defaults
import idlelock_report

REPO = pathlib.Path(__file__).resolve().parents[2]
ENVIRONMENTS = (("dev", 150), ("staging", 100), ("prod", 250))
NON_COMPLIANT, SILENT = 83, 19
IDLE, INTERVAL, AUDIT_FAILED = 56, 57, 4
GENERATED = "2026-11-30 16:00 UTC"
PROFILE = "stig"
MAIN, DROPIN, PROFILE_D = ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/00-idlelock.conf",
                           "/etc/profile.d/idlelock.sh")
VERSIONS = ((8, 4), (9, 2), (9, 6), (10, 0))


def stig():
    """The stig profile's thresholds, as shipped."""
    return idlelock_defaults.DEFAULTS["profiles"][PROFILE]


def _compliant_facts(version):
    channel = "session:*=600" if version >= (9, 2) else "none"
    return {
        "openssh": version,
        "sshd": {"effective": {"channeltimeout": channel, "clientaliveinterval": "300",
                               "clientalivecountmax": "1"},
                 "sources": {"ClientAliveInterval": f"{DROPIN}:2",
                             "ClientAliveCountMax": f"{DROPIN}:3",
                             "ChannelTimeout": f"{DROPIN}:4"}},
        "matches": [],
        "shell": {"shell": "bash", "value": "600", "readonly": True, "exported": True,
                  "sources": {"value": f"{PROFILE_D}:3", "readonly": f"{PROFILE_D}:4"},
                  "conflicts": []},
        "logind": {"supported": False, "reason": "systemd-logind 247 has no StopIdleSessionSec"},
    }


def _break_idle(facts):
    """Nothing closes an idle session: no ChannelTimeout, no TMOUT (a host never applied)."""
    facts["sshd"]["effective"]["channeltimeout"] = "none"
    facts["shell"].update(value=None, readonly=False, exported=False, sources={})


def _break_interval(facts):
    facts["sshd"]["effective"]["clientaliveinterval"] = "900"
    facts["sshd"]["sources"]["ClientAliveInterval"] = f"{MAIN}:121"


def _break_match(facts):
    facts["matches"].append({
        "match": "Match Group admins", "source": f"{MAIN}:129",
        "sets": {"ClientAliveInterval": {"value": "3600", "source": f"{MAIN}:130"},
                 "ClientAliveCountMax": {"value": "0", "source": f"{MAIN}:131"}},
        "effective": dict(facts["sshd"]["effective"], clientaliveinterval="3600",
                          clientalivecountmax="0")})


def _break_readonly(facts):
    if facts["shell"]["value"] is not None:
        facts["shell"]["readonly"] = False


def _note_channel_in_match(facts):
    """A low note only: ChannelTimeout inside Match (ignored before OpenSSH 10.5)."""
    facts["matches"].append({
        "match": "Match User backup", "source": f"{MAIN}:140",
        "sets": {"ChannelTimeout": {"value": "session:*=300", "source": f"{MAIN}:141"}},
        "effective": dict(facts["sshd"]["effective"])})


def fleet(scale=1, seed=15):
    """
    ``(returns, expected, environments, last_seen)`` as the runner gathers them:
    audit returns of the hosts that answered (a few audits failed: an error
    string), every host targeted, the environment and last answer of the
    silent ones.
    """
    rng = random.Random(seed)
    thresholds = stig()
    hosts = [(f"{env}-{i:0{len(str(count * scale))}d}", env)
             for env, count in ENVIRONMENTS for i in range(1, count * scale + 1)]
    envs = dict(hosts)
    names = [name for name, _ in hosts]
    rng.shuffle(names)
    silent = names[:SILENT * scale]
    failing = names[SILENT * scale:(SILENT + NON_COMPLIANT) * scale]
    # Idle logout on the first 56, ClientAliveInterval on the next 57 from
    # host 23 on (both on 34), a failed audit on the last 4.
    idle = set(failing[:IDLE * scale])
    start = NON_COMPLIANT - AUDIT_FAILED - INTERVAL
    interval = set(failing[start * scale:(start + INTERVAL) * scale])
    broken = failing[:(NON_COMPLIANT - AUDIT_FAILED) * scale]
    errors = set(failing[(NON_COMPLIANT - AUDIT_FAILED) * scale:])
    match = set(rng.sample(broken, 12 * scale))
    readonly = set(rng.sample([n for n in broken if n not in idle], 9 * scale))
    notes = set(rng.sample(names[(SILENT + NON_COMPLIANT) * scale:], 10 * scale))
    returns = {}
    for name in names[SILENT * scale:]:
        if name in errors:
            returns[name] = "'idlelock.audit' is not available."
            continue
        version = rng.choice(VERSIONS)
        facts = _compliant_facts(version)
        for hosts_with, breaks in ((idle, _break_idle), (interval, _break_interval),
                                   (match, _break_match), (readonly, _break_readonly),
                                   (notes, _note_channel_in_match)):
            if name in hosts_with:
                breaks(facts)
        result = idlelock_audit.judge(facts, PROFILE, thresholds, 600)
        result.update(environment=envs[name], timeout=600,
                      openssh=f"OpenSSH_{version[0]}.{version[1]}p1")
        returns[name] = result
    last_seen = {name: f"2026-11-{rng.randint(10, 29)} 0{rng.randint(0, 9)}:00 UTC"
                 for name in silent}
    return returns, sorted(envs), envs, last_seen


def history(runs=12, total=500):
    """Saved summaries of earlier runs: compliance rising from 55 % as the rollout goes on."""
    entries = []
    for run in range(runs):
        compliant = int(total * (0.55 + 0.02 * run))
        silent = total // 25
        entries.append({"generated": f"2026-11-{18 + run:02d} 16:00 UTC", "profile": PROFILE,
                        "target": "*",
                        "counts": {"compliant": compliant, "no answer": silent,
                                   "non-compliant": total - compliant - silent}})
    return entries


def report(scale=1):
    """The synthetic fleet's report data, through the runner's own summarize."""
    returns, expected, envs, last_seen = fleet(scale)
    return idlelock_report.summarize(PROFILE, returns, expected, envs, generated=GENERATED,
                                     target="*", last_seen=last_seen,
                                     history=history(total=len(expected)))


if __name__ == "__main__":
    # python -m tests.support.synthetic_fleet: rewrite docs/report-sample.html.
    (REPO / "docs" / "report-sample.html").write_text(idlelock_report.render_html(report()))
