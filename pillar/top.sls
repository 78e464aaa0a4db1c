# Policy per environment, chosen by minion id. The id is fixed by the key the
# master accepted; a grain is set by the minion itself, so targeting pillar by
# a grain would let any host claim the weakest environment (Salt FAQ: "Is
# targeting using grain data secure?"). Rename the patterns to your naming
# scheme, or use nodegroups (docs/fleet.md). A minion that matches none gets
# the site baseline only (pillar/idlelock/defaults.sls).
base:
  '*':
    - idlelock.defaults
  '*-dev':
    - idlelock.dev
  '*-staging':
    - idlelock.staging
  '*-prod':
    - idlelock.prod
