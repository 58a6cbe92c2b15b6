"""patchpilot: progressive autonomous vulnerability remediation.

The package is laid out as one subpackage per step of the flow (sources, advisories, formats,
and later planning, fixers, verify, policy, deliver); `engine` strings the steps together and
`cli` only parses options and renders the engine's results.
"""

__version__ = "0.1.0"
