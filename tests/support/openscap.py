"""OpenSCAP with the SCAP Security Guide, run as an auditor runs it, on a copy of a chroot.

Debian packages the scanner (``openscap-scanner``) and the Ubuntu content
(``ssg-debderived``). Two traps, both handled here, keep a naive run from
judging anything:

- the content's platform check reads ``/etc/lsb-release`` (``DISTRIB_ID=Ubuntu``
  and the release's codename): a Debian chroot is "not applicable" unless the
  copy gets Ubuntu's release file;
- the ``dpkginfo`` probe opens apt's cache through the *host's* apt
  configuration. This machine's ``docker-clean`` snippet turns the binary cache
  off, the probe's init fails, and every rule that depends on
  ``package_openssh-server_installed`` then passes on no evidence. So the scan
  gets an apt configuration of its own and the copy a binary cache, and
  :func:`scan` refuses to judge when the scanner does not see openssh-server.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

CONTENT = Path("/usr/share/xml/scap/ssg/content")
PREFIX = "xccdf_org.ssgproject.content_"
# The rules an auditor's report of an idle-session policy is made of.
RULES = ("sshd_set_idle_timeout", "sshd_set_keepalive", "accounts_tmout")
SEES_SSHD = "package_openssh-server_installed"
SCAN_TIMEOUT = 300


@dataclass(frozen=True)
class Benchmark:
    datastream: str
    profile: str
    codename: str
    release: str


# idlelock profile -> the packaged benchmark an auditor would run for it.
BENCHMARKS = {
    "cis": Benchmark("ssg-ubuntu2204-ds.xml", "cis_level1_server", "jammy", "22.04"),
    "stig": Benchmark("ssg-ubuntu2004-ds.xml", "stig", "focal", "20.04"),
}

_RESULT_RE = re.compile(r"^Rule\s+" + PREFIX + r"rule_(\S+)\s*\nResult\s+(\S+)", re.M)


class ScannerBlind(AssertionError):
    """The scanner does not see openssh-server, so its sshd verdicts mean nothing."""


def available() -> bool:
    return all((CONTENT / b.datastream).is_file() for b in BENCHMARKS.values()) and \
        Path("/usr/bin/oscap").is_file()


def scannable_copy(chroot: Path, dest: Path) -> Path:
    """Copy ``chroot`` to ``dest`` and give the copy the apt binary cache the scanner reads."""
    subprocess.run(["cp", "-a", "--reflink=auto", str(chroot), str(dest)], check=True,
                   timeout=300)
    subprocess.run(["apt-cache", "-o", f"Dir={dest}/", "gencaches"], check=True, timeout=300,
                   env=_apt_env(dest), capture_output=True)
    return dest


def _apt_env(root: Path) -> dict:
    # An apt configuration that reads none of the host's snippets (this host's
    # docker-clean disables the binary cache the dpkginfo probe needs).
    conf = root / ".idlelock-scan-apt.conf"
    empty = root / ".idlelock-scan-apt.conf.d"
    empty.mkdir(exist_ok=True)
    conf.write_text(f'Dir::Etc::parts "{empty}";\n')
    return dict(os.environ, APT_CONFIG=str(conf))


def scan(root: Path, profile: str) -> dict[str, str]:
    """``{rule: pass|fail|...}`` for :data:`RULES`, as ``oscap`` judges ``root`` under ``profile``."""
    bench = BENCHMARKS[profile]
    # The platform check of the Ubuntu content: only the scanned copy gets it.
    (root / "etc" / "lsb-release").write_text(
        f"DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE={bench.release}\nDISTRIB_CODENAME={bench.codename}\n"
        f'DISTRIB_DESCRIPTION="Ubuntu {bench.release} LTS"\n')
    argv = ["oscap", "xccdf", "eval", "--profile", PREFIX + "profile_" + bench.profile]
    for rule in RULES + (SEES_SSHD,):
        argv += ["--rule", PREFIX + "rule_" + rule]
    argv.append(str(CONTENT / bench.datastream))
    env = dict(_apt_env(root), OSCAP_PROBE_ROOT=str(root))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=SCAN_TIMEOUT, env=env)
    results = dict(_RESULT_RE.findall(proc.stdout))
    if results.get(SEES_SSHD) != "pass":
        raise ScannerBlind(f"oscap does not see openssh-server in {root} "
                           f"({SEES_SSHD}: {results.get(SEES_SSHD)}); refusing to judge:\n"
                           f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    missing = [rule for rule in RULES if rule not in results]
    if missing:
        raise AssertionError(f"oscap judged no {missing}:\n{proc.stdout}{proc.stderr}")
    return {rule: results[rule] for rule in RULES}
