idlelock:
  environment: staging
  timeout: 900
  profile: cis
