"""The audit ledger: an append-only, hash-chained record of every step (`ledger`), and the
plain-words story of a finding, branch, commit or action told from it alone (`explain`).

The ledger is a subscriber: the engine reports `events.Record`s and `LedgerReporter` appends
them; no step calls the ledger itself.
"""
