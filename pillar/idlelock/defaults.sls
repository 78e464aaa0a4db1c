# Site baseline, applied to every minion before its environment file.
# Anything not set here comes from _utils/idlelock_defaults.py.
idlelock:
  environment: default
