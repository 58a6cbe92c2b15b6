"""Assessment of findings beyond "a vulnerable version is installed".

`exploit` keeps the published exploit signals (CISA KEV membership, FIRST EPSS scores) beside
the advisory store and joins them to findings by CVE id; `vex` reads VEX documents (OpenVEX,
CycloneDX) and decides which findings a `not_affected` statement suppresses.
"""
