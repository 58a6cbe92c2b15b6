"""Planning: which version each vulnerable component should move to, and why.

`index` lists a package's releases (PyPI, npm) behind the `PackageIndex` seam, with an on-disk
cache; `levels` names upgrade levels by each ecosystem's version rules and reads the user's
per-package ceilings; `target` chooses the smallest release that fixes every finding of a
component without introducing one, saying why every other candidate was refused.
"""
