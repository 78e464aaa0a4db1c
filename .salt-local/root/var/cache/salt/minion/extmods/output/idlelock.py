"""
Outputter for ``salt-run idlelock.report``: prints the rendered report as it
is (a table, JSON, JUnit XML or HTML), not as a nested mapping.
"""


def output(data, **kwargs):  # pylint: disable=unused-argument
    """
    Print an idlelock report.

    CLI Example:

    .. code-block:: bash

        salt-run idlelock.report
    """
    if isinstance(data, dict) and "report" in data:
        return data["report"].rstrip("\n")
    return str(data)
