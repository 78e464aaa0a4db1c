{#- Shell: a readonly TMOUT for sh/bash/zsh/ksh and autologout for tcsh. The
    per-OS form and file locations come from map.jinja through the policy. #}
{%- from "idlelock/map.jinja" import idlelock with context %}

idlelock-shell:
  idlelock.shell:
    - name: {{ idlelock.shell.profile_file }}
    - form: {{ idlelock.shell.form }}
    - csh_file: {{ idlelock.shell.csh_file }}
    - zsh_file: {{ idlelock.shell.zsh_file | json }}
    - bashrc_file: {{ idlelock.shell.bashrc_file | json }}
