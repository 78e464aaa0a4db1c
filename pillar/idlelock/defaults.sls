# Site baseline, applied to every minion before its environment file.
# Anything not set here comes from salt/idlelock/defaults.yaml.
idlelock:
  environment: default
