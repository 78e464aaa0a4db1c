"""The auditor's scanner agrees: OpenSCAP with the SCAP Security Guide, on real chroots.

For each chroot (OpenSSH 8.4 on bullseye, 10.0 on trixie), a private copy is
scanned with the packaged Ubuntu CIS and STIG content before and after
``state.apply idlelock`` with ``profile: cis`` and then ``profile: stig``
(image mode: ``root`` is the copy). Before, the stock image fails the three
idle-session rules and ``idlelock.audit`` says non-compliant; after each apply,
the scanner passes all three and the audit says compliant. ``sshd -T`` in the
chroot shows that the values the scanner reads as text are also in force.
"""

import pytest

from tests.support import openscap
from tests.support.chroots import ensure_chroot, sshd_in
from tests.support.salt_call import LocalMinion, states_by_id

pytestmark = [
    pytest.mark.matrix,
    pytest.mark.skipif(not openscap.available(),
                       reason="openscap-scanner and ssg-debderived are not installed "
                              "(scripts/test.sh installs them)"),
]

TIMEOUT = 600
# The benchmarks' own remediation values, which the scanner checks for equality.
COUNT_MAX = {"cis": "3", "stig": "1"}


def _pillar(root, profile):
    return {"root": str(root), "timeout": TIMEOUT, "profile": profile,
            "sshd": {"manage_service": False}, "schedule": {"enabled": False}}


def _effective(root):
    proc = sshd_in(root, "-T")
    assert proc.returncode == 0, proc.stderr
    return dict(line.split(" ", 1) for line in proc.stdout.lower().splitlines() if " " in line)


@pytest.fixture(params=["bullseye", "trixie"])
def image(request, tmp_path):
    """A private copy of the chroot that the scanner can read; the cached chroot is untouched."""
    return openscap.scannable_copy(ensure_chroot(request.param), tmp_path / "image")


def test_scanner_and_audit_agree_before_and_after_apply(image, tmp_path):
    minion = LocalMinion(tmp_path / "minion", _pillar(image, "cis"))

    def agree(profile):
        """OpenSCAP's verdict per rule, after checking that the audit predicted each one."""
        scanned = openscap.scan(image, profile)
        audit = minion.call("idlelock.audit", f"profile={profile}")
        assert audit["scanner"] == scanned, (profile, audit["findings"])
        return scanned, audit

    for profile in ("cis", "stig"):
        scanned, audit = agree(profile)
        assert set(scanned.values()) == {"fail"}, scanned
        assert audit["compliant"] is False, audit

    for profile in ("cis", "stig"):
        minion.set_pillar(_pillar(image, profile))
        result = states_by_id(minion.call("state.apply", "idlelock"))
        assert all(state["result"] is True for state in result.values()), result

        scanned, audit = agree(profile)
        assert scanned == {rule: "pass" for rule in openscap.RULES}, (profile, scanned)
        assert audit["compliant"] is True, audit
        assert not [f for f in audit["findings"] if f["check"].startswith("scanner")], audit
        effective = _effective(image)
        assert effective["clientalivecountmax"] == COUNT_MAX[profile]
        assert 1 <= int(effective["clientaliveinterval"]) <= 300

    # Any host against any profile, whatever its own policy says: a pillar
    # weaker than its own profile is judged, not refused. The image keeps the
    # STIG's CountMax 1, which CIS accepts but the CIS content's scanner does not.
    minion.set_pillar(dict(_pillar(image, "stig"),
                           sshd={"manage_service": False, "client_alive_count_max": 3}))
    scanned, audit = agree("cis")
    assert scanned["sshd_set_keepalive"] == "fail"
    assert audit["compliant"] is True, audit
    assert minion.call("idlelock.audit", "profile=stig")["compliant"] is True


# Texts whose reading tests/unit/test_scanner.py pins word for word: the verdict
# OpenSCAP gives them, here, is what lets the fast unit tests stand in for it.
TEXTS = {
    "test_a_finding_names_the_directive_line_after_blank_lines": {
        "/etc/ssh/sshd_config": "\n\nClientAliveInterval 300\n\n  ClientAliveCountMax 3\n",
        "/etc/profile.d/idlelock.sh": "# idle shells\n\n   \ndeclare -xr TMOUT=900\n"},
    "test_findings_name_every_failing_line_and_only_those": {
        "/etc/ssh/sshd_config": "ClientAliveCountMax 0\nClientAliveCountMax 1\n"
                                "ClientAliveCountMax 5\n",
        "/etc/profile": "declare -xr TMOUT=900\n",
        "/etc/profile.d/a.sh": "declare -xr TMOUT=300\n",
        "/etc/profile.d/b.sh": "\ndeclare -xr TMOUT=1200\n"},
    "test_passing_rules_show_every_line_read": {
        "/etc/ssh/sshd_config": "ClientAliveInterval 600\nClientAliveCountMax 1\n"
                                "ClientAliveCountMax 1\n",
        "/etc/profile": "declare -xr TMOUT=900\n",
        "/etc/profile.d/a.sh": "declare -xr TMOUT=300\n"},
}


def test_the_scanner_reads_these_texts_as_idlelock_scanner_does(tmp_path):
    import idlelock_defaults
    import idlelock_scanner

    root = openscap.scannable_copy(ensure_chroot("bullseye"), tmp_path / "image")
    scanner = idlelock_defaults.DEFAULTS["profiles"]["stig"]["scanner"]
    for case, texts in TEXTS.items():
        for old in (root / "etc" / "profile.d").glob("*.sh"):
            old.unlink()
        (root / "etc" / "profile").write_text("")
        for path, text in texts.items():
            (root / path.lstrip("/")).write_text(text)
        predicted = {r["rule"]: "pass" if r["passed"] else "fail"
                     for r in idlelock_scanner.read(scanner, "/etc/ssh/sshd_config", texts)}
        assert openscap.scan(root, "stig") == predicted, case
