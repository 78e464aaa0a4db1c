"""Minions of a real salt-master for the integration tests."""

import attr
from saltfactories.daemons.minion import SaltMinion

from tests.support import private_etc
from tests.support.sshd_sandbox import SshdSandbox


@attr.s(kw_only=True, slots=True)
class PrivateEtcMinion(SaltMinion):
    """
    A salt-minion in a private mount namespace with ``etc`` overlaid on /etc
    (:func:`tests.support.private_etc.command`): its login-shell probes read
    the suite's start-up files, never the host's. The daemon keeps its PID
    (the wrapper execs it), which is the process salt-factories watches.
    """

    etc = attr.ib()

    def cmdline(self, *args):
        return private_etc.command(self.etc, super().cmdline(*args))


def sandboxed_minion(salt_master, minion_id, env, sandbox_dir, idlelock=None, **config):
    """
    A minion factory whose idlelock paths all point into an :class:`SshdSandbox`
    under ``sandbox_dir``. Returns ``(factory, sandbox)``. The minion runs on
    a private /etc: ``sandbox_dir/etc`` over the suite's baseline
    (``private_etc.BASELINE``: Debian's start-up files, an empty profile.d),
    so no login shell of its audits has a TMOUT, whatever the host's /etc
    holds, unless the test writes one there. It carries a grain
    ``env``, as many fleets do; pillar never reads it (the example top file
    targets minion ids), so a test can show that a grain cannot pick a policy.

    ``idlelock`` is merged into the minion's ``idlelock`` config section;
    ``config`` adds other minion options.
    """
    sandbox = SshdSandbox(sandbox_dir)
    section = {
        "sshd": {"config": str(sandbox.config), "manage_service": False},
        "shell": {
            "enabled": False,
            "profile_file": str(sandbox.profile_d / "idlelock.sh"),
            "csh_file": str(sandbox.profile_d / "idlelock.csh"),
        },
    }
    for key, value in (idlelock or {}).items():
        section.setdefault(key, {}).update(value)
    factory = salt_master.salt_minion_daemon(
        minion_id,
        overrides={"grains": {"env": env}, "idlelock": section, **config},
        factory_class=PrivateEtcMinion, etc=str(sandbox.root_dir.parent / "etc"),
    )
    return factory, sandbox


def minion_returns(result):
    """
    The parsed output of a ``salt`` CLI run, failing on a CLI error:
    ``{minion: return}``, or the return itself when the target is one minion id.
    """
    assert result.returncode == 0, result.stderr or result.stdout
    return result.data
