"""ecobrain."""
