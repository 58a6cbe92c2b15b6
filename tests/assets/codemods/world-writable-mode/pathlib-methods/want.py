from pathlib import Path


def spool(root: str) -> Path:
    spool_dir = Path(root) / "spool"
    base = Path(root)
    base.mkdir(mode=0o775, parents=True, exist_ok=True)
    Path(root, "incoming").mkdir(0o775, exist_ok=True)
    Path(root, "state.db").chmod(0o664)
    return spool_dir
