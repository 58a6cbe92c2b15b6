import pickle
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def test_old_snapshot_still_loads():
    snapshot = pickle.loads((FIXTURES / "snapshot-v1.pkl").read_bytes())
    assert snapshot["version"] == 1
