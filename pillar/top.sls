# Policy per environment: the minion's `env` grain picks the file. A minion
# without that grain gets the site baseline only (pillar/idlelock/defaults.sls).
base:
  '*':
    - idlelock.defaults
  'env:dev':
    - match: grain
    - idlelock.dev
  'env:staging':
    - match: grain
    - idlelock.staging
  'env:prod':
    - match: grain
    - idlelock.prod
