{#- Remove idlelock from the host: every file it touched goes back to what it
    was (see `idlelock.remove`). sshd is reloaded through watch, so only when
    an sshd file changed, and only after sshd_absent validated the whole
    restored configuration with sshd -T. Nothing else is restarted. The other
    parts require the sshd part: a restored configuration that sshd would
    reject leaves the whole host as it is. #}
{%- from "idlelock/map.jinja" import idlelock with context %}
{%- set job = idlelock.schedule.job %}

idlelock-sshd-clean:
  idlelock.sshd_absent:
    - name: {{ idlelock.sshd.config }}
{%- if idlelock.sshd.manage_service %}

{#- As in sshd.sls: where ssh.socket is enabled (systemd asked at run time)
    ssh.service is never started; the daemon the socket started at the first
    connection keeps what it loaded, so it is reloaded only while it runs. #}

idlelock-sshd-clean-reload:
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
      - idlelock: idlelock-sshd-clean
{%-   if idlelock.sshd.socket %}

idlelock-sshd-clean-socket-reload:
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
      - idlelock: idlelock-sshd-clean
{%-   endif %}
{%- endif %}

idlelock-shell-clean:
  idlelock.shell_absent:
    - name: {{ idlelock.shell.profile_file }}
    - csh_file: {{ idlelock.shell.csh_file }}
    - zsh_file: {{ idlelock.shell.zsh_file | json }}
    - require:
      - idlelock: idlelock-sshd-clean

idlelock-logind-clean:
  idlelock.logind_absent:
    - name: {{ idlelock.logind.conf_file }}
    - require:
      - idlelock: idlelock-sshd-clean

{#- The job persists in minion.d/_schedule.conf: remove it from there too. #}
idlelock-schedule-clean:
  schedule.absent:
    - name: {{ job.name }}
    - persist: {{ job.persist | json }}
    - offline: {{ job.offline | json }}
    - require:
      - idlelock: idlelock-sshd-clean
