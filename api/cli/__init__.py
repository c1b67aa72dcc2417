"""The command line (`ecobrain …`): one module per command group."""
