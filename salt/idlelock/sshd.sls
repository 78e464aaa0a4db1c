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
{%-   if idlelock.sshd.socket %}

{#- The socket-activated sshd: the daemon ssh.socket started at the first
    connection keeps what it loaded until it is reloaded. service.running would
    start it, so: reload it only when the socket unit is enabled and the
    service runs (both asked at run time), and only when the sshd state
    changed something. #}

idlelock-sshd-socket-reload:
  module.run:
    - service.reload:
      - name: {{ idlelock.sshd.service }}
    - onlyif:
      - fun: service.enabled
        args:
          - {{ idlelock.sshd.socket }}
      - fun: service.status
        args:
          - {{ idlelock.sshd.service }}
    - onchanges:
      - idlelock: idlelock-sshd
{%-   endif %}
{%- endif %}
