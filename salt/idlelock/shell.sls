{#- Placeholder: the shell part comes in a later issue. It is a no-op. #}
