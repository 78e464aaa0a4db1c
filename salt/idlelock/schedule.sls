{#- Re-enforce the policy on a schedule, so that drift heals itself. The job is
    computed by idlelock.policy (schedule:job); this file only wires it. #}
{%- from "idlelock/map.jinja" import idlelock with context %}
{%- set job = idlelock.schedule.job %}
{%- if idlelock.errors %}

{#- Bad input changes nothing, _schedule.conf included. #}
idlelock-schedule:
  test.configurable_test_state:
    - changes: false
    - result: false
    - allow_test_mode_failure: true
    - comment: {{ ('Bad input, the schedule was left unchanged: ' ~ idlelock.errors | join('; ')) | json }}
{%- elif idlelock.schedule.unavailable %}

{#- salt-ssh: no minion daemon on the target runs a schedule. #}
idlelock-schedule:
  test.show_notification:
    - text: {{ idlelock.schedule.unavailable | json }}
{%- elif idlelock.schedule.enabled %}

idlelock-schedule:
  schedule.present:
{%-   for key, value in job | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
{%- else %}

{#- The job persists in minion.d/_schedule.conf: remove it from there too. #}
idlelock-schedule:
  schedule.absent:
    - name: {{ job.name }}
    - persist: {{ job.persist | json }}
    - offline: {{ job.offline | json }}
{%- endif %}
