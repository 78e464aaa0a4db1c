"""The sshd scenario folder through the pure walker and planner (no sshd, no disk)."""

import fnmatch
import posixpath

import pytest

import idlelock_policy
import idlelock_sshd
from tests.support import scenarios

ROOT = "/sandbox"


def fake_fs(tree_files):
    def read(path):
        return tree_files.get(path)

    def expand(pattern):
        directory, name = posixpath.split(pattern)
        return sorted(
            path
            for path in tree_files
            if posixpath.dirname(path) == directory
            and fnmatch.fnmatchcase(posixpath.basename(path), name)
            and not posixpath.basename(path).startswith(".")
        )

    return read, expand


def resolved_sshd(scenario, defaults):
    policy, errors, _ = idlelock_policy.resolve(scenario.get("policy", {}), defaults, (9, 2))
    assert errors == []
    return policy["sshd"]


@pytest.mark.parametrize("scenario", scenarios.params("sshd", error=(None, None)))
def test_sshd_scenario(scenario, defaults):
    tree_files = scenarios.files(scenario, ROOT)
    for rel, target in scenario.get("symlinks", {}).items():
        tree_files[posixpath.join(ROOT, rel)] = tree_files[posixpath.join(ROOT, target)]
    read, expand = fake_fs(tree_files)
    tree = idlelock_sshd.walk(f"{ROOT}/sshd_config", read, expand)

    winners = tree.winners(idlelock_policy.SSHD_KEYWORDS.values())
    for keyword, source in scenario.get("before", {}).items():
        found = winners[keyword].source if keyword in winners else "default"
        assert scenarios.relative(found, ROOT) == source, keyword

    sshd = resolved_sshd(scenario, defaults)
    desired = idlelock_sshd.carry_list_entries(tree, idlelock_policy.sshd_directives(sshd), {})[0]
    plan = idlelock_sshd.plan(tree, desired, read, expand, sshd["layout"])
    assert scenarios.relative(plan.target, ROOT) == scenario["target"]
    removed = [scenarios.relative(path, ROOT) for path, text in plan.texts.items() if text is None]
    assert removed == scenario.get("removed", [])
    assert [scenarios.relative(d.source, ROOT) for d in plan.disabled] == scenario["disabled"]
    assert (plan.texts == {}) is scenario.get("unchanged", False)
    # The files as written, read afresh (not the planner's own last walk): sshd's
    # first-value-wins rule picks the values the scenario expects.
    written = {path: text for path, text in dict(tree_files, **plan.texts).items()
               if text is not None}  # None: a file the plan removes
    final = idlelock_sshd.walk(f"{ROOT}/sshd_config", *fake_fs(written)).winners(
        idlelock_policy.SSHD_KEYWORDS.values())
    for keyword, value in scenarios.sshd_effective(scenario).items():
        winner = next(w for k, w in final.items() if k.lower() == keyword)
        # Both sides normalised: sshd -T prints a ChannelTimeout entry's time as
        # written (forwarded-tcpip=1h), and the planner may carry it as written.
        assert idlelock_sshd.normalize(keyword, winner.value) == idlelock_sshd.normalize(
            keyword, value), keyword


@pytest.mark.parametrize("ours, theirs, merged", [
    ("session:*=420", "direct-tcpip=3600 x11-connection=600",
     "session:*=420 direct-tcpip=3600 x11-connection=600"),
    ("session:*=420", "session:shell=3600 session:subsystem:sftp=7200 forwarded-tcpip=1h",
     "session:*=420 forwarded-tcpip=1h"),
    ("session:*=420", "*=7200", "session:*=420 *=7200"),
    ("session:*=420 direct-tcpip=60", "direct-tcpip=3600 tun-connection=5",
     "session:*=420 direct-tcpip=60 tun-connection=5"),
    ("session:shell=420", "session:command=9 session:shell=5",
     "session:shell=420 session:command=9"),
    ("session:*=420", "none", "session:*=420"),
    ("session:*=420", "", "session:*=420"),
    # sshd splits arguments on space and tab only: a U+00A0 or U+3000 is inside one entry,
    # carried byte for byte (str.split() would cut it into two entries sshd never sees).
    ("session:*=420", "direct-tcpip=60\u00a0x11-connection=5",
     "session:*=420 direct-tcpip=60\u00a0x11-connection=5"),
    ("session:*=420", "x11-connection=5\u3000session:shell=9",
     "session:*=420 x11-connection=5\u3000session:shell=9"),
    ("session:*=420", "session:shell=9\u2003x11-connection=5", "session:*=420"),
])
def test_channel_timeout_carries_the_site_entries_it_does_not_manage(ours, theirs, merged):
    main = f"{ROOT}/sshd_config"
    files = {main: f"Include {ROOT}/d/*.conf\n", f"{ROOT}/d/50-site.conf":
             f"ChannelTimeout {theirs}\n" if theirs else "\n"}
    tree = idlelock_sshd.walk(main, *fake_fs(files))
    desired, notes = idlelock_sshd.carry_list_entries(tree, {"ChannelTimeout": ours}, {})
    assert desired == {"ChannelTimeout": merged}
    assert bool(notes) is (merged != ours)


def test_idlelock_own_line_is_not_the_site_line():
    # On a second run sshd reads idlelock's drop-in first; the entries it carries stay.
    main = f"{ROOT}/sshd_config"
    files = {main: f"Include {ROOT}/d/*.conf\n",
             f"{ROOT}/d/00-idlelock.conf": "ChannelTimeout session:*=420 direct-tcpip=3600\n"}
    tree = idlelock_sshd.walk(main, *fake_fs(files))
    effective = {"channeltimeout": "session:*=420 direct-tcpip=3600"}
    desired, _ = idlelock_sshd.carry_list_entries(tree, {"ChannelTimeout": "session:*=300"},
                                                  effective)
    assert desired == {"ChannelTimeout": "session:*=300 direct-tcpip=3600"}


def test_host_keys_are_the_global_hostkey_lines_or_sshds_defaults():
    main = f"{ROOT}/sshd_config"
    tree = idlelock_sshd.walk(main, *fake_fs({main: "HostKey /k1\nMatch User x\n  Banner none\n"}))
    assert idlelock_sshd.host_keys(tree) == ["/k1"]
    tree = idlelock_sshd.walk(main, *fake_fs({main: "Port 22\n"}))
    assert idlelock_sshd.host_keys(tree) == list(idlelock_sshd.DEFAULT_HOST_KEYS)
