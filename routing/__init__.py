"""Road graphs, travel times, virtual stops and turn-by-turn steps (imports no Noriai package)."""
