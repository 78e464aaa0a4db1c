"""
Removal: what a file looked like before idlelock, worked out from its current text.

Pure logic, the inverse of the planners in ``idlelock_sshd`` and
``idlelock_shell``. Everything idlelock writes carries its own record:

- a file idlelock owns (the sshd drop-in, the profile and csh files, the logind
  drop-in) starts with idlelock's header line, and is removed whole;
- a block idlelock adds to someone else's file (the block at the top of
  sshd_config, the zsh and bashrc hooks) lies between a BEGIN and an END line;
  the lines between them are removed, except lines idlelock does not write
  (an admin's edit), which stay and are named;
- a line idlelock commented out keeps its original bytes after a marker
  (``# idlelock disabled: `` in sshd files, ``: # idlelock-takeover: `` in
  shell files), so taking the marker away gives back the exact line.

Files are split on ``\\n`` only, as sshd and the shells read them, and joined
back with ``\\n``: every byte idlelock did not write (``\\r``, tabs, trailing
spaces, a missing final newline) is kept.

Each function returns a :class:`Removal`: ``texts`` maps a path to its restored
text, or to ``None`` for a file to delete; ``notes`` says what could not be put
back exactly and why.
"""

from dataclasses import dataclass, field

import idlelock_logind
import idlelock_shell
import idlelock_sshd


@dataclass
class Removal:
    """What removal changes: ``{path: restored text, or None to delete}``, and why not exact."""

    texts: dict = field(default_factory=dict)
    restored: list = field(default_factory=list)  # "path:line" of lines given back
    notes: list = field(default_factory=list)
    refusals: list = field(default_factory=list)  # why nothing may change

    def merge(self, other):
        self.texts.update(other.texts)
        self.restored += other.restored
        self.notes += other.notes
        self.refusals += other.refusals


def unmark(text, pattern, split_lines=idlelock_sshd.split_lines):
    """
    ``(text, [line numbers])`` with every line marked by ``pattern`` given back.

    ``split_lines`` splits the file as its reader does (sshd and the shells:
    ``\\n`` only; systemd: ``idlelock_logind.split_lines``); line endings stay.
    """
    lines, numbers = split_lines(text, keepends=True), []
    for index, line in enumerate(lines):
        body = split_lines(line)[0]
        found = pattern.fullmatch(body)
        if found:
            lines[index] = found.group(1) + found.group(2) + line[len(body):]
            numbers.append(index + 1)
    return "".join(lines), numbers


def remove_block(path, text, begin, end, ours):
    """
    ``(text, notes)`` without idlelock's ``begin`` .. ``end`` block.

    ``ours(line)`` tells a line idlelock writes inside the block from one an
    admin added there; the admin's lines stay where they are. A BEGIN line
    without its END is left alone: where the block ends is then a guess.
    """
    lines, notes = text.split("\n"), []
    if begin not in lines:
        return text, notes
    start = lines.index(begin)
    if end not in lines[start + 1:]:
        notes.append(f"{path}:{start + 1}: idlelock's block has no end line "
                     f"({end!r}); left as it is, remove it by hand")
        return text, notes
    stop = lines.index(end, start + 1)
    kept = [line for line in lines[start + 1:stop] if not ours(line)]
    for line in kept:
        notes.append(f"{path}: kept {line!r}, which someone added inside idlelock's block")
    lines[start:stop + 1] = kept
    return "\n".join(lines), notes


def _owned(path, text, header):
    """A file idlelock owns: delete it when its first line is idlelock's header."""
    removal = Removal()
    if text is None:
        return removal
    if text.split("\n", 1)[0] == header.rstrip("\n"):
        removal.texts[path] = None
    else:
        removal.notes.append(f"{path} does not start with idlelock's header: not idlelock's "
                             "file (or rewritten since), left alone")
    return removal


# ---------------------------------------------------------------- sshd
def _sshd_line_is_ours(managed):
    keywords = {keyword.lower() for keyword in managed}

    def ours(line):
        try:
            parsed = idlelock_sshd.tokenize(line)
        except idlelock_sshd.ConfigError:
            return False
        return parsed is not None and parsed[0] in keywords

    return ours


# Trimmed off a line a message quotes; any other byte is shown, escaped by repr().
_SHOWN_BLANKS = " \t\r"


def _directive(line):
    """True for a line sshd reads as a directive (an unbalanced quote included)."""
    try:
        return idlelock_sshd.tokenize(line) is not None
    except idlelock_sshd.ConfigError:
        return True


def _foreign_lines(path, text, ours):
    """
    Why idlelock's own drop-in cannot simply go: lines someone added to it.

    Deleting the file would discard them, and keeping them alone could move a
    line out of the Match block it was written in (idlelock's exemption block
    ends the file); only the admin knows where such a line belongs.
    """
    lines = [f"line {number}: {line.strip(_SHOWN_BLANKS)!r}"
             for number, line in enumerate(text.split("\n"), 1)
             if _directive(line) and not ours(line)]
    if not lines:
        return []
    return [f"{path} holds lines idlelock does not write ({'; '.join(lines)}): move them to a "
            "file of your own, then remove idlelock again"]


def unplan_sshd(tree, dropin_text, managed):
    """
    Undo ``idlelock_sshd.plan`` on ``tree`` (the configuration as sshd reads it).

    ``dropin_text`` is the text of the drop-in path ``dropin_target(tree)``
    names (``None``: absent), read even when no Include reaches it any more.
    ``managed`` are the keywords idlelock writes: only those lines leave
    idlelock's block in the main file.
    """
    removal = Removal()
    ours = _sshd_line_is_ours(managed)
    # The drop-in may end with idlelock's exemption block (Match Group).
    ours_in_dropin = _sshd_line_is_ours([*managed, "Match"])
    target = idlelock_sshd.dropin_target(tree)
    texts = dict(tree.texts)
    if target and target not in texts:
        texts[target] = dropin_text
    for path, text in texts.items():
        if text is None:
            continue
        if path.rsplit("/", 1)[-1] == idlelock_sshd.DROPIN_NAME:
            removal.merge(_owned(path, text, idlelock_sshd.HEADER))
            if path in removal.texts:
                removal.refusals += _foreign_lines(path, text, ours_in_dropin)
                continue
        new, notes = remove_block(path, text, idlelock_sshd.BLOCK_BEGIN,
                                  idlelock_sshd.BLOCK_END, ours)
        new, numbers = unmark(new, idlelock_sshd.DISABLED_RE)
        removal.notes += notes
        removal.restored += [f"{path}:{number}" for number in numbers]
        if new != text:
            removal.texts[path] = new
    return removal


# ---------------------------------------------------------------- shells
# The hooks idlelock appends to other files: (BEGIN, END) line pairs. Inside
# one, idlelock writes only the line that sources its own profile file.
HOOKS = ((idlelock_shell.ZSH_BEGIN, idlelock_shell.ZSH_END),
         (idlelock_shell.BASHRC_BEGIN, idlelock_shell.ZSH_END))


def unplan_shell(texts, backups, own):
    """
    Undo ``set_shell``: delete idlelock's own files, take its hook blocks out
    of the start-up files, give back the lines it took over, delete backups.

    ``texts``: ``{path: text or None}`` of every start-up file idlelock may
    have edited; ``own``: the paths of its own files (profile, csh);
    ``backups``: ``{path: text of path + BACKUP_SUFFIX}`` for each backup found.

    A backup is the file as it was before the first takeover. When undoing the
    markers gives back the backup's text, the file is exactly as it was. When
    it does not, the file changed since (an admin's edit): the markers are
    undone in place, the edit kept, and a note says so. Either way the backup
    is deleted: everything it could give back is back.
    """
    removal = Removal()
    for path, text in texts.items():
        if path in own:
            removal.merge(_owned(path, text, idlelock_shell.HEADER))
            continue
        if text is None:
            continue
        new = text
        for begin, end in HOOKS:
            new, notes = remove_block(path, new, begin, end,
                                      lambda line: any(mine in line for mine in own))
            removal.notes += notes
        new, numbers = unmark(new, idlelock_shell.TAKEOVER_RE)
        removal.restored += [f"{path}:{number}" for number in numbers]
        if new != text:
            removal.texts[path] = new
    _drop_backups(removal, texts, backups)
    return removal


def _drop_backups(removal, texts, backups):
    """
    Delete each backup (``{path: its text}``) of a taken-over file, saying when
    the file no longer matches it: everything the backup could give back is back.
    """
    for path, saved in backups.items():
        backup = path + idlelock_shell.BACKUP_SUFFIX
        removal.texts[backup] = None
        now = removal.texts.get(path, texts.get(path))
        if now is None:
            removal.notes.append(f"{path} no longer exists; {backup} (the file before "
                                 "idlelock took it over) deleted with it")
        elif now != saved:
            removal.notes.append(
                f"{path} changed after idlelock took it over: idlelock's lines were given "
                f"back in place and the other edits kept, rather than restoring {backup}")


# ---------------------------------------------------------------- logind
def unplan_logind(path, texts, backups):
    """
    Undo ``set_logind``: delete idlelock's drop-in ``path``, give back every
    ``StopIdleSessionSec`` line ``logind:takeover`` commented out in the other
    files, and delete their backups (as ``unplan_shell`` does).

    ``texts``: ``{path: text or None}`` of every file systemd-logind reads;
    ``backups``: ``{path: text of path + BACKUP_SUFFIX}`` for each backup found.
    """
    removal = _owned(path, texts.get(path), idlelock_shell.HEADER)
    for other, text in texts.items():
        if other == path or text is None:
            continue
        new, numbers = unmark(text, idlelock_logind.TAKEOVER_RE, idlelock_logind.split_lines)
        removal.restored += [f"{other}:{number}" for number in numbers]
        if new != text:
            removal.texts[other] = new
    _drop_backups(removal, texts, backups)
    return removal
