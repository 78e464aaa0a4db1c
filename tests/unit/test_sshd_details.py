"""
idlelock_sshd's small promises, exactly: comments are not directives, a Match
block knows its own line, normalize speaks sshd -T, and the staged candidate
reads like the real tree (each Include lists the staged copies, in order).
"""

import fnmatch
import posixpath

import pytest

import idlelock_sshd as sshd

FILES = {
    "/s/sshd_config": "Include /s/d/*.conf\nHostKey /k\nMatch User x\n  ClientAliveInterval 5\n",
    "/s/d/a.conf": "ClientAliveCountMax 2\n",
    "/s/d/b.conf": "Include /s/none/*.conf\n",
}


def expand(pattern):
    directory, name = posixpath.split(pattern)
    return sorted(path for path in FILES
                  if posixpath.dirname(path) == directory and fnmatch.fnmatch(posixpath.basename(path), name))


@pytest.mark.parametrize("line", ["#ClientAliveInterval 5", "  # ClientAliveInterval 5", "", "   "])
def test_comments_and_blanks_are_no_directive(line):
    assert sshd.tokenize(line) is None


def test_a_match_block_knows_where_it_starts():
    tree = sshd.walk("/s/sshd_config", FILES.get, expand)
    (keyword, directive), = tree.match_overrides(["ClientAliveInterval"])
    assert (keyword, directive.source, directive.match.source) == (
        "ClientAliveInterval", "/s/sshd_config:4", "/s/sshd_config:3")
    assert directive.match.describe() == "Match User x"


def test_normalize_a_channel_timeout_list():
    assert sshd.normalize("ChannelTimeout", "session:*=10m x11-connection=1h") == (
        "session:*=600 x11-connection=3600")


def test_the_staged_tree_reads_like_the_real_one():
    tree = sshd.walk("/s/sshd_config", FILES.get, expand)
    files, main, names = sshd.stage(tree, "/run/st")
    assert main == "/run/st/000.conf"
    assert files == {
        "/run/st/000.conf": "Include /run/st/001.conf /run/st/002.conf\nHostKey /k\n"
                            "Match User x\n  ClientAliveInterval 5\n",
        "/run/st/001.conf": "ClientAliveCountMax 2\n",
        "/run/st/002.conf": "# Include: no match\n",
    }
    assert names == {"/run/st/000.conf": "/s/sshd_config", "/run/st/001.conf": "/s/d/a.conf",
                     "/run/st/002.conf": "/s/d/b.conf"}
    assert sshd.unstage_message("/run/st/001.conf line 1: bad", names) == "/s/d/a.conf line 1: bad"
