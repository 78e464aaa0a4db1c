{#- Include each mechanism that the policy enables. The schedule is always
    included: when disabled it removes the job it added before. The verdict
    state runs last and records, for the idlelock grain, whether the run left
    the policy in force. #}
{%- from "idlelock/map.jinja" import idlelock with context %}
{%- set parts = [] %}
{%- for part in ('sshd', 'shell', 'logind') %}
{%-   if idlelock[part].enabled %}
{%-     do parts.append('idlelock.' ~ part) %}
{%-   endif %}
{%- endfor %}
{%- do parts.append('idlelock.schedule') %}
include: {{ parts | json }}

idlelock-verdict:
  idlelock.verdict:
    - name: idlelock
    - order: last
