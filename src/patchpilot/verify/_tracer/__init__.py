"""The test-reach tracer: a pytest plugin loaded into the project's own test process.

This directory is put on the test run's PYTHONPATH and the plugin is activated with
`-p patchpilot_reach`; nothing here imports patchpilot, because it runs inside the project's
environment, where patchpilot is not installed.
"""
