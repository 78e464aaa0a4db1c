# The dev environment's policy, for minions whose id matches *-dev (pillar/top.sls).
idlelock:
  environment: dev
  timeout: 3600
