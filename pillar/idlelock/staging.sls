# The staging environment's policy, for minions whose id matches *-staging (pillar/top.sls).
idlelock:
  environment: staging
  timeout: 900
  profile: cis
