idlelock:
  environment: dev
  timeout: 3600
