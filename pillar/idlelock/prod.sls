# The prod environment's policy, for minions whose id matches *-prod (pillar/top.sls).
idlelock:
  environment: prod
  timeout: 600
  profile: stig
