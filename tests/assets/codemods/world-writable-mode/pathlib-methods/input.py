from pathlib import Path


def spool(root: str) -> Path:
    spool_dir = Path(root) / "spool"
    base = Path(root)
    base.mkdir(mode=0o777, parents=True, exist_ok=True)
    Path(root, "incoming").mkdir(0o777, exist_ok=True)
    Path(root, "state.db").chmod(0o666)
    return spool_dir
