{#- sshd: make the idle timeout effective, and reload sshd only when a file changed. #}
{%- from "idlelock/map.jinja" import idlelock with context %}

idlelock-sshd:
  idlelock.sshd:
    - name: {{ idlelock.sshd.config }}
{%- if idlelock.sshd.manage_service %}

{#- Where systemd starts sshd from its socket unit (Ubuntu >= 22.10), enabling
    ssh.service breaks port 22: both service states step aside. systemd is
    asked when the state runs, never while this file renders.
    Enabling lives apart from the watched state: Salt skips mod_watch when the
    enable step of a service.running changes something. #}
idlelock-sshd-service-enabled:
  service.enabled:
    - name: {{ idlelock.sshd.service }}
{%-   if idlelock.sshd.socket %}
    - unless:
      - fun: service.enabled
        args:
          - {{ idlelock.sshd.socket }}
{%-   endif %}

idlelock-sshd-service-reload:
  service.running:
    - name: {{ idlelock.sshd.service }}
    - reload: true
{%-   if idlelock.sshd.socket %}
    - unless:
      - fun: service.enabled
        args:
          - {{ idlelock.sshd.socket }}
{%-   endif %}
    - watch:
      - idlelock: idlelock-sshd
{%- endif %}
