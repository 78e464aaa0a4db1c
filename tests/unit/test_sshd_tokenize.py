"""sshd's own line and word splitting (servconf.c, misc.c strdelim/argv_split), as data."""

import pytest

import idlelock_sshd as sshd

CASES = [
    ("Port 22", ("port", ("22",))),
    ("  AcceptEnv LANG LC_*  ", ("acceptenv", ("LANG", "LC_*"))),
    ("ChannelTimeout session:*=5 global=3\r", ("channeltimeout", ("session:*=5", "global=3"))),
    ("Port\t22\f", ("port", ("22",))),
    ("Port 22\f33", ("port", ("22\f33",))),  # a form feed inside is not a blank
    ("Port 22\v", ("port", ("22\v",))),  # nor a trailing vertical tab
    ('"Port" 22', ("port", ("22",))),
    ('Po"rt" 22', ("port", ("22",))),
    ("Port=22", ("port", ("22",))),
    ("Port = 22", ("port", ("22",))),
    ("Port =22", ("port", ("22",))),
    ('Banner "/etc/my issue"', ("banner", ("/etc/my issue",))),
    ("Banner '/etc/my issue'", ("banner", ("/etc/my issue",))),
    (r"Banner /etc/my\ issue", ("banner", ("/etc/my issue",))),
    (r"Banner /etc/a\b", ("banner", (r"/etc/a\b",))),
    ("AllowUsers a#b # c", ("allowusers", ("a#b",))),
    ("Match User a,b", ("match", ("User", "a,b"))),
    ("# Port 22", None),
    ("\t# Port 22", None),
    ("   ", None),
    ("", None),
    ("\f", None),
    ('"Port 22', None),  # sshd skips a keyword whose quote never closes
]


@pytest.mark.parametrize("line,expected", CASES, ids=[repr(c[0]) for c in CASES])
def test_tokenize_like_sshd(line, expected):
    assert sshd.tokenize(line) == expected


def test_unbalanced_quotes_fail_as_in_sshd():
    with pytest.raises(sshd.ConfigError, match="invalid quotes"):
        sshd.tokenize('Banner "/etc/issue')


@pytest.mark.parametrize("line", ["Port", "Port   \r"])
def test_a_keyword_without_value_is_read_with_none(line):
    # sshd -T rejects it ("no argument after keyword") in its own words.
    assert sshd.tokenize(line) == ("port", ())


@pytest.mark.parametrize("text,lines", [
    ("a\nb\n", ["a", "b"]),
    ("a\nb", ["a", "b"]),
    ("a\r\nb\fc\vd\x1ce\x85f\u2028g\u2029h\n", ["a\r", "b\fc\vd\x1ce\x85f\u2028g\u2029h"]),
    ("\n\n", ["", ""]),
    ("", []),
])
def test_lines_end_at_newline_only(text, lines):
    assert sshd.split_lines(text) == lines
    assert "".join(sshd.split_lines(text, keepends=True)) == text
