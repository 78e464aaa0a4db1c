{#- sshd: make the idle timeout effective, and reload sshd only when a file changed. #}
{%- from "idlelock/map.jinja" import idlelock with context %}

idlelock-sshd:
  idlelock.sshd:
    - name: {{ idlelock.sshd.config }}
{%- if idlelock.sshd.manage_service and not idlelock.sshd.socket_activated %}

{#- Enabling lives apart from the watched state: Salt skips mod_watch when the
    enable step of a service.running changes something. #}
idlelock-sshd-service-enabled:
  service.enabled:
    - name: {{ idlelock.sshd.service }}

idlelock-sshd-service-reload:
  service.running:
    - name: {{ idlelock.sshd.service }}
    - reload: true
    - watch:
      - idlelock: idlelock-sshd
{%- endif %}
