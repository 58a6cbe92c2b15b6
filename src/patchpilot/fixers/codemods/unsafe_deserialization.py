"""`unsafe-deserialization` (Tier C): loads that can run code hidden in the data.

`pickle` (and `cPickle`, `_pickle`, `dill`), `shelve`, `jsonpickle` and `pandas.read_pickle`
rebuild objects by calling whatever the data names; `marshal` is documented as unsafe on
untrusted input. No rewrite keeps the behaviour (fix-patterns.md #28): the fix is a data-only
format (JSON, msgpack, Parquet) or signed data, chosen by a person. Every call is reported as
a `tier-c` refusal explaining that; calls are matched alias-aware (`import pickle as p`,
`from pickle import loads`). Test modules are reported too, with the same reason: a test that
unpickles a committed fixture runs whatever a contributor put into it on every CI machine.
`torch.load` has its own codemod (`torch-load-weights-only`).
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from patchpilot.fixers.codemods.interface import CodemodTransformer, FileRun
from patchpilot.fixers.codemods.tier_c import (
    DetectorTransformer,
    TierCDetector,
    argument,
    literal_text,
)

_PICKLE = (
    "rebuilds objects by calling whatever the data names (`__reduce__`), so bytes crafted by "
    "someone else run their code in this process"
)
_SHELVE = (
    "reads and writes its values with pickle, which " + _PICKLE + "; a shelf file someone "
    "else can write is as dangerous as a pickle"
)
_MARSHAL = (
    "is, in the Python documentation's words, not secure against erroneous or maliciously "
    "constructed data: it rebuilds code objects, can crash the interpreter, and its format "
    "changes between Python versions"
)
_JSONPICKLE = (
    "rebuilds any Python object the JSON names (`py/object`, `py/reduce`), so JSON crafted "
    "by someone else makes it call any importable function"
)
# Each matched callable: what it does with the data.
_RISKS: dict[str, str] = {
    **dict.fromkeys(
        (
            f"{m}.{f}"
            for m in ("pickle", "_pickle", "cPickle")
            for f in ("load", "loads", "Unpickler")
        ),
        _PICKLE,
    ),
    **dict.fromkeys(("dill.load", "dill.loads", "dill.Unpickler"), f"extends pickle and {_PICKLE}"),
    **dict.fromkeys(("shelve.open", "shelve.DbfilenameShelf"), _SHELVE),
    **dict.fromkeys(("marshal.load", "marshal.loads"), _MARSHAL),
    **dict.fromkeys(
        ("jsonpickle.decode", "jsonpickle.loads", "jsonpickle.unpickler.decode"), _JSONPICKLE
    ),
    **dict.fromkeys(
        ("pandas.read_pickle", "pandas.io.pickle.read_pickle"), f"unpickles the file: {_PICKLE}"
    ),
}
_NAMES = frozenset(_RISKS)
# Callables taking the serialized data itself (not a file or a file name) as first argument.
_FROM_MEMORY = frozenset(name for name in _NAMES if name.endswith(("loads", ".decode")))
_INSTEAD = (
    "No rewrite keeps the behaviour. If the data can come from outside this process (a "
    "request, an upload, a cache, queue or bucket others can write, a downloaded file), store "
    "it in a data-only format instead: JSON, msgpack{tables}; or sign it (HMAC) when it is "
    "written and verify the signature before loading"
)
_FICKLING = (
    "; `fickling` can screen a pickle file first, but it is a heuristic scanner, not a "
    "sandbox, and has no `loads`"
)


class UnsafeDeserialization(TierCDetector):
    """Report pickle-family loads: they run code named by the data; no safe rewrite exists."""

    id: ClassVar[str] = "unsafe-deserialization"
    cwe: ClassVar[tuple[int, ...]] = (502,)
    title: ClassVar[str] = "Deserialization that can run code hidden in the data (report only)"
    rules: ClassVar[tuple[str, ...]] = (
        "B301",
        "S301",
        "B302",
        "S302",
        "B403",
        "S403",
        "python.lang.security.deserialization.pickle.avoid-pickle",
        "avoid-pickle",
        "avoid-cPickle",
        "avoid-dill",
        "avoid-shelve",
        "python.lang.security.deserialization.avoid-jsonpickle.avoid-jsonpickle",
        "avoid-jsonpickle",
        "python.lang.security.audit.marshal.marshal-usage",
        "marshal-usage",
    )
    # Each matched name spells `pickle` (`cPickle` with a capital), `marshal`, `shelve` or
    # `dill` in the module part or in the function's own name (`read_pickle`, `jsonpickle`).
    hints: ClassVar[tuple[str, ...]] = ("pickle", "Pickle", "marshal", "shelve", "dill")
    modules: ClassVar[tuple[str, ...]] = (
        "pickle",
        "_pickle",
        "cPickle",
        "dill",
        "shelve",
        "marshal",
        "jsonpickle",
        "pandas",
    )

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(DetectorTransformer):
    def visit_Call(self, node: cst.Call) -> None:
        name = self.call_name(node, _NAMES)
        if name is None:
            return
        tables = (
            " or Parquet/CSV for tables (`read_parquet`, `read_csv`)" if "pandas" in name else ""
        )
        stopgap = "" if name.startswith(("marshal.", "jsonpickle.")) else _FICKLING
        detail = f"`{name}` {_RISKS[name]}. {_INSTEAD.format(tables=tables)}{stopgap}."
        data = argument(node, "data") if name in _FROM_MEMORY else None
        if data is not None and literal_text(data) is not None:
            detail = (
                f"The data is a constant in the source, so nothing from outside reaches this "
                f"call today; keep it that way or move to a data literal. {detail}"
            )
        self.report(node, detail)
