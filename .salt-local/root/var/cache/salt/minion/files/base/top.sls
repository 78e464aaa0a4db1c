# Example state top file: a highstate enforces idlelock on every minion, so a
# schedule with `idlelock:schedule:highstate: true` keeps it enforced as well.
base:
  '*':
    - idlelock
