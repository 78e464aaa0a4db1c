idlelock:
  environment: prod
  timeout: 600
  profile: stig
