"""
The planner's finer points, pure: where idlelock's lines go (``dropin_target``),
the block of an earlier run moved or kept, lines that sit right next to it, the
entries of a site's ChannelTimeout carried along, and the candidate tree it
reads through ``overlay``.
"""

import fnmatch
import posixpath

import pytest

import idlelock_sshd as sshd

MAIN = "/etc/ssh/sshd_config"
DROPIN = "/etc/ssh/sshd_config.d/00-idlelock.conf"
WANT = {"ClientAliveInterval": "300", "ClientAliveCountMax": "1"}
BLOCK = (f"{sshd.BLOCK_BEGIN}\nClientAliveInterval 300\nClientAliveCountMax 1\n"
         f"{sshd.BLOCK_END}\n")


def fs(files):
    def expand(pattern):
        directory, name = posixpath.split(pattern)
        return sorted(path for path in files if posixpath.dirname(path) == directory
                      and fnmatch.fnmatchcase(posixpath.basename(path), name))
    return files.get, expand


def walk(files):
    return sshd.walk(MAIN, *fs(files))


def test_moving_to_the_dropin_removes_the_block_of_an_earlier_main_layout():
    files = {MAIN: BLOCK + "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n",
             "/etc/ssh/sshd_config.d/50-site.conf": "Banner none\n"}

    plan = sshd.plan(walk(files), WANT, *fs(files))

    assert plan.target == DROPIN
    assert plan.texts == {DROPIN: sshd.render_dropin(WANT),
                          MAIN: "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n"}
    assert plan.disabled == []
    # The candidate tree the caller proves and stages: sshd reads our values first.
    assert {k: d.source for k, d in plan.tree.winners(WANT).items()} == {
        "ClientAliveInterval": f"{DROPIN}:2", "ClientAliveCountMax": f"{DROPIN}:3"}


def test_the_main_layout_comments_out_a_line_right_after_its_block_and_none_inside():
    files = {MAIN: BLOCK + "ClientAliveInterval 900\nClientAliveCountMax 1\nPort 22\n"}

    plan = sshd.plan(walk(files), WANT, *fs(files), layout="main")

    assert plan.target == MAIN
    assert [d.source for d in plan.disabled] == [f"{MAIN}:5", f"{MAIN}:6"]
    assert plan.texts == {MAIN: BLOCK + f"{sshd.DISABLED_MARK}ClientAliveInterval 900\n"
                                        f"{sshd.DISABLED_MARK}ClientAliveCountMax 1\nPort 22\n"}


def test_an_unknown_layout_is_refused_by_name():
    files = {MAIN: "Port 22\n"}
    with pytest.raises(ValueError) as refused:
        sshd.plan(walk(files), WANT, *fs(files), layout="side")
    assert str(refused.value) == "unknown layout 'side'"


@pytest.mark.parametrize("main,target", [
    # A plain file included first: its lines come before the drop-in directory's Include.
    ("Include /etc/ssh/crypto.conf\nInclude /etc/ssh/sshd_config.d/*.conf\n", DROPIN),
    # An Include whose pattern cannot match 00-idlelock.conf: a block in the main file.
    ("Include /etc/ssh/crypto.conf\nPort 22\n", MAIN),
    ("Include /etc/ssh/sshd_config.d/50-*.conf\n", MAIN),
    # A glob in a directory part: no single directory to write to.
    ("Include /etc/ssh/*/*.conf\n", MAIN),
    # After a Match line, the drop-in would belong to the Match block.
    ("Match User x\n    Include /etc/ssh/sshd_config.d/*.conf\n", MAIN),
])
def test_the_dropin_goes_where_the_main_file_includes_it_globally(main, target):
    files = {MAIN: main, "/etc/ssh/crypto.conf": "Ciphers aes256-gcm@openssh.com\n"}

    plan = sshd.plan(walk(files), WANT, *fs(files))

    assert plan.target == target
    assert (sshd.dropin_target(walk(files)) or MAIN) == target


SITE = "/etc/ssh/sshd_config.d/50-site.conf"


@pytest.mark.parametrize("files,desired,notes", [
    # idlelock's block atop the main file (main layout) is not the site's line.
    ({MAIN: (f"{sshd.BLOCK_BEGIN}\nChannelTimeout session:*=300\n{sshd.BLOCK_END}\n"
             "Include /etc/ssh/sshd_config.d/*.conf\n"),
      SITE: "ChannelTimeout direct-tcpip=3600\n"},
     "session:*=420 direct-tcpip=3600", [f"ChannelTimeout keeps direct-tcpip=3600 from {SITE}:1"]),
    # Nor is its drop-in: the site's own line, which loses to it, is carried.
    ({MAIN: "Include /etc/ssh/sshd_config.d/*.conf\n",
      DROPIN: "ChannelTimeout session:*=300 direct-tcpip=3600\n",
      SITE: "ChannelTimeout x11-connection=5\n"},
     "session:*=420 x11-connection=5", [f"ChannelTimeout keeps x11-connection=5 from {SITE}:1"]),
    # sshd splits arguments on space and tab only: a no-break space stays in the
    # entry, and the note names the entry as carried (sshd then refuses its time).
    ({MAIN: "Include /etc/ssh/sshd_config.d/*.conf\n",
      SITE: "ChannelTimeout x11-connection=5\u00a0\n"},
     "session:*=420 x11-connection=5\u00a0",
     [f"ChannelTimeout keeps x11-connection=5\u00a0 from {SITE}:1"]),
])
def test_the_site_channel_timeout_is_the_first_line_idlelock_did_not_write(files, desired, notes):
    result = sshd.carry_list_entries(walk(files), {"ChannelTimeout": "session:*=420"},
                                     {"channeltimeout": "session:*=300 direct-tcpip=3600"})

    assert result == ({"ChannelTimeout": desired}, notes)


@pytest.mark.parametrize("desired", [
    {"ClientAliveInterval": "300"},  # idlelock sets no ChannelTimeout
    {"ChannelTimeout": "none", "ClientAliveInterval": "300"},  # it removes the list
])
def test_nothing_is_carried_into_a_channel_timeout_idlelock_does_not_set(desired):
    files = {MAIN: "Include /etc/ssh/sshd_config.d/*.conf\n",
             SITE: "ChannelTimeout direct-tcpip=3600\n"}

    assert sshd.carry_list_entries(walk(files), desired, {}) == (desired, [])


def test_the_overlay_adds_and_deletes_files_in_the_globbed_directory_only():
    disk = {MAIN: "Include /etc/ssh/sshd_config.d/*.conf\n", SITE: "Banner none\n",
            "/etc/ssh/sshd_config.d/60-old.conf": "Port 22\n"}
    read, expand = sshd.overlay(*fs(disk), {
        DROPIN: "ClientAliveInterval 300\n",
        "/etc/ssh/sshd_config.d/60-old.conf": None,
        "/etc/ssh/crypto.conf": "Ciphers aes256-gcm@openssh.com\n",  # another directory
    })

    assert expand("/etc/ssh/sshd_config.d/*.conf") == [DROPIN, SITE]
    assert read(DROPIN) == "ClientAliveInterval 300\n" and read(SITE) == "Banner none\n"
