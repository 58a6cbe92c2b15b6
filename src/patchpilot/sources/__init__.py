"""Inventory: read manifests, lockfiles and SBOMs into components.

One module per format, each a `Source` (see `interface`); `registry` lists them and
`discover` walks a directory to decide which files to read.
"""
