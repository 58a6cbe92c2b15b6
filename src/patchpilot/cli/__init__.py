"""The command line: parse options, call the engine, render, exit with a documented status."""
