{#- Shell: a readonly TMOUT for sh/bash/zsh/ksh and autologout for tcsh. The
    state resolves the per-OS form and file locations itself, as the CLI does. #}
{%- from "idlelock/map.jinja" import idlelock with context %}

idlelock-shell:
  idlelock.shell:
    - name: {{ idlelock.shell.profile_file }}
