"""
What idlelock_sshd reads off a running host, pure: the main file a listener
reads (``argv_config``, checked against the real sshd where one is installed),
what ``sshd -T`` depends on (``inputs``), the staged copy sshd validates
(``stage``), and the walker's errors and single reading of each file.
"""

import fnmatch
import os
import subprocess

import pytest

import idlelock_sshd as sshd

SSHD = "/usr/sbin/sshd"
DEFAULT = "/etc/ssh/sshd_config"
TITLE_TAIL = " [listener] 0 of 10-100 startups"


def tree(files, main=DEFAULT):
    return sshd.walk(main, files.get, lambda pattern: sorted(fnmatch.filter(files, pattern)))


# /proc/PID/cmdline of a listener: sshd replaces its argv with a title, "sshd: "
# then its argv joined by spaces (measured on Debian 12, OpenSSH 9.2p1:
# "sshd: /usr/sbin/sshd [listener] 0 of 10-100 startups").
@pytest.mark.parametrize("argv,config", [
    ([f"sshd: /usr/sbin/sshd{TITLE_TAIL}"], DEFAULT),
    ([f"sshd: /usr/sbin/sshd -D -e -f /srv/t/sshd_config{TITLE_TAIL}"], "/srv/t/sshd_config"),
    # A -f path with two spaces in a row, and one holding " [listener]" itself.
    ([f"sshd: /usr/sbin/sshd -f /srv/a  b/sshd_config{TITLE_TAIL}"], "/srv/a  b/sshd_config"),
    ([f"sshd: /usr/sbin/sshd -f /srv/x [listener]/c{TITLE_TAIL}"], "/srv/x [listener]/c"),
    # -o "Banner /etc/issue.net" is one argument, two words in the title.
    ([f"sshd: /usr/sbin/sshd -D -o Banner /etc/issue.net -f /srv/t/c{TITLE_TAIL}"], "/srv/t/c"),
    # An empty cmdline (the process is exiting): sshd's compiled-in default.
    ([], DEFAULT),
], ids=["title", "title-f", "title-two-spaces", "title-listener-in-path", "title-o-value",
        "empty"])
def test_the_main_file_a_listener_reads_from_its_title(argv, config):
    assert sshd.argv_config(argv) == config


# argv as exec'd (an sshd that does not rewrite it): the main file it reads is
# the one the real sshd reads with the same arguments, told apart by Port.
ORACLE_ARGS = [
    ["-D"],
    ["-D", "-f", "@B"],
    ["-f", "@B", "-D"],
    ["-f@B"],
    ["-Def", "@B"],
    ["-Def@B"],
    ["-o", "PidFile=/run/x.pid", "-f", "@B"],
    ["-g", "30", "-f", "@A", "-f", "@B"],  # the last -f counts
    ["-h", "@KEY", "-f", "@B"],
]


@pytest.mark.parametrize("args", ORACLE_ARGS, ids=" ".join)
def test_the_main_file_of_an_exec_argv_is_the_one_sshd_reads(args, tmp_path):
    names = {"@A": str(tmp_path / "a.conf"), "@B": str(tmp_path / "b.conf"),
             "@KEY": str(tmp_path / "key")}

    def fill(word):
        for mark, path in names.items():
            word = word.replace(mark, path)
        return word

    argv = ["/usr/sbin/sshd", *map(fill, args)]
    expected = names["@B"] if any("@B" in arg for arg in args) else DEFAULT
    assert sshd.argv_config(argv) == expected
    if not os.access(SSHD, os.X_OK):
        return
    # The oracle: sshd -T with the same arguments prints the Port of the file it read.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", names["@KEY"]],
                   check=True, timeout=30)
    for port, mark in ((2201, "@A"), (2202, "@B")):
        with open(names[mark], "w", encoding="utf-8") as handle:
            handle.write(f"Port {port}\nHostKey {names['@KEY']}\n")
    if expected == DEFAULT:
        return  # the host's own file: not read here
    out = subprocess.run([SSHD, "-T", *argv[1:]], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    ports = [line.split()[1] for line in out.splitlines() if line.lower().startswith("port ")]
    assert ports == ["2202"]


@pytest.mark.parametrize("args,says", [
    (["-t", "-f", "/dev/null", "extra"], "Extra argument extra."),
    (["-t", "-f", "/dev/null", "--", "-f", "/dev/null"], "Extra argument -f."),
    (["-t", "-f", "/dev/null", "-"], "Extra argument -."),
    (["-t", "-f"], "option requires an argument -- f"),
])
def test_sshd_refuses_the_argv_argv_config_does_not_weigh(args, says):
    """
    Why argv_config's handling of a non-option word, ``--``, ``-`` or a ``-f``
    without value never decides anything: sshd exits at once on each, so no
    listener runs with such an argv (docs/mutation/idlelock_sshd.md).
    """
    if not os.access(SSHD, os.X_OK):
        pytest.skip("no sshd here")
    done = subprocess.run([SSHD, *args], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and says in done.stderr


def test_inputs_are_files_include_directories_keys_and_accounts():
    files = {
        DEFAULT: ("Include sshd_config.d/*.conf\n"
                  "HostKey /etc/ssh/ssh_host_ed25519_key\n"
                  "HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n"
                  "Match User backup\n    Banner none\n"),
        "/etc/ssh/sshd_config.d/10-a.conf": "Include /srv/ssh/*.conf\nPort 22\n",
    }

    assert sshd.inputs(tree(files)) == [
        DEFAULT, "/etc/ssh/sshd_config.d/10-a.conf",
        # A drop-in added to either directory changes what sshd reads.
        "/etc/ssh/sshd_config.d", "/srv/ssh",
        "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key-cert.pub",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/etc/passwd", "/etc/group",
    ]


def test_inputs_without_hostkey_are_sshds_default_keys():
    files = {DEFAULT: ("Include /etc/ssh/sshd_config.d/*.conf\n"
                       "HostCertificate /etc/ssh/ca-cert.pub\n"),
             "/etc/ssh/sshd_config.d/00-idlelock.conf": "ClientAliveInterval 300\n"}
    keys = [f"/etc/ssh/ssh_host_{kind}_key" for kind in ("rsa", "ecdsa", "ed25519")]

    assert sshd.inputs(tree(files)) == [
        DEFAULT, "/etc/ssh/sshd_config.d/00-idlelock.conf", "/etc/ssh/sshd_config.d",
        "/etc/ssh/ca-cert.pub", *keys, *(f"{key}.pub" for key in keys),
        "/etc/passwd", "/etc/group",
    ]


@pytest.mark.parametrize("main,staged", [
    # An Include on the last line, without a final newline: none is added.
    ("Port 22\nInclude /s/d/*.conf", "Port 22\nInclude /run/st/001.conf"),
    # On the first line of such a file: it keeps its own newline.
    ("Include /s/d/*.conf\nPort 22", "Include /run/st/001.conf\nPort 22"),
])
def test_the_staged_include_keeps_its_line_ending(main, staged):
    files = {"/s/sshd_config": main, "/s/d/a.conf": "ClientAliveCountMax 2\n"}

    staged_files, staged_main, _ = sshd.stage(tree(files, "/s/sshd_config"), "/run/st")

    assert staged_files[staged_main] == staged


def test_walk_names_the_missing_main_file_and_the_bad_line():
    with pytest.raises(sshd.ConfigError) as missing:
        tree({}, "/s/sshd_config")
    assert str(missing.value) == "/s/sshd_config: no such file"

    with pytest.raises(sshd.ConfigError) as quotes:
        tree({"/s/sshd_config": "Port 22\nBanner \"/etc/issue\n"}, "/s/sshd_config")
    assert str(quotes.value) == "/s/sshd_config line 2: invalid quotes"


def test_walk_reads_a_file_included_twice_once():
    """One reading per file: edited between two Includes, the tree is still one version."""
    versions = {"/s/a.conf": iter(["ClientAliveInterval 300\n", "ClientAliveInterval 900\n"])}
    main = "Include /s/a.conf\nMatch User x\n    Include /s/a.conf\n"

    def read(path):
        return next(versions[path]) if path in versions else main

    found = sshd.walk("/s/sshd_config", read, lambda pattern: [pattern])

    assert found.texts["/s/a.conf"] == "ClientAliveInterval 300\n"
    assert [d.value for d in found.directives if d.keyword == "clientaliveinterval"] == [
        "300", "300"]
