import os as _os
import pathlib as pl
import stat as st


def fix_permissions(path):
    _os.chmod(path, st.S_IRWXU | st.S_IRWXO)
    pl.Path(path).chmod(0o777)
