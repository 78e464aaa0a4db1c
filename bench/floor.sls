{#- The floor: Salt's own cost of a state.apply that does nothing. #}
bench-floor:
  test.nop: []
