"""Model-output files: IOAPI and CF readers, the run manifest, units and species."""
