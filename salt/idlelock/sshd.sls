{#- sshd: make the idle timeout effective, and reload sshd only when a file changed. #}
{%- from "idlelock/map.jinja" import idlelock with context %}

idlelock-sshd:
  idlelock.sshd:
    - name: {{ idlelock.sshd.config }}
{%- if idlelock.sshd.manage_service and idlelock.sshd.socket_activated %}
{#- ssh.socket starts sshd at the first connection (Ubuntu >= 22.10); from then
    on that daemon keeps what it loaded. Enabling or starting ssh.service there
    breaks port 22, and service.running would start it: reload it only while it
    runs, and only when the sshd state changed something. #}

idlelock-sshd-service-reload:
  module.run:
    - service.reload:
      - name: {{ idlelock.sshd.service }}
    - onlyif:
      - fun: service.status
        args:
          - {{ idlelock.sshd.service }}
    - onchanges:
      - idlelock: idlelock-sshd
{%- elif idlelock.sshd.manage_service %}
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
