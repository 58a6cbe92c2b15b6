"""Advisories: the local OSV store, exact OSV-schema matching, alias merging and severity.

`osv` reads one OSV record into a `model.Advisory`; `store` keeps records in one SQLite file and
answers lookups by package; `update` downloads osv.dev's per-ecosystem zips into it; `versions`
orders versions per ecosystem; `matching` decides which advisories affect a component and merges
them (by `aliases`) into findings whose severity `severity` computes.
"""
