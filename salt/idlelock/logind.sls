{#- logind (opt-in): StopIdleSessionSec drop-in, and a restart of
    systemd-logind through watch, so only when the drop-in changed. Where
    systemd-logind >= 252 is not running (host fact from grains), the state
    reports a skip and no service is touched. #}
{%- from "idlelock/map.jinja" import idlelock with context %}

idlelock-logind:
  idlelock.logind:
    - name: {{ idlelock.logind.conf_file }}
{%- if idlelock.host.logind.supported %}

idlelock-logind-restart:
  service.running:
    - name: systemd-logind
    - watch:
      - idlelock: idlelock-logind
{%- endif %}
