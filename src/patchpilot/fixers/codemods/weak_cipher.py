"""`weak-cipher` (Tier C): broken or obsolete ciphers and the ECB mode.

PyCrypto / pycryptodome(x) `DES`, `DES3`, `ARC2`, `ARC4`, `Blowfish`, `CAST`, `IDEA` and `XOR`
`.new(...)`, every `MODE_ECB` of their cipher modules, and `cryptography`'s
`algorithms.TripleDES` / `ARC4` / `Blowfish` / `IDEA` / `CAST5` / `SEED` / `RC2` (under
`hazmat.primitives` or `hazmat.decrepit`) and `modes.ECB`. Replacing a cipher changes the
ciphertext format, the key and nonce handling, and leaves existing data unreadable, so there is
no rewrite (fix-patterns.md #29): each site is reported as a `tier-c` refusal suggesting
AES-GCM or ChaCha20-Poly1305 with a data-migration plan. A cipher constructor reports the
problems among its arguments with it (`DES.new(key, DES.MODE_ECB)`, `Cipher(algorithms.ARC4(k),
mode=None)`: one site); a reference elsewhere is a site of its own. Test modules are reported
with the reason `test-file`: there a weak cipher is usually a test vector or a legacy format
under test.
"""

from __future__ import annotations

import re
from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import CodemodTransformer, FileRun
from patchpilot.fixers.codemods.tier_c import DetectorTransformer, TierCDetector

_SWEET32 = (
    "a 64-bit block, so after a few dozen gigabytes under one key colliding blocks leak "
    "plaintext (Sweet32)"
)
# Why each weak cipher is weak, by the name its module or class has.
_WEAK: dict[str, str] = {
    "DES": "DES has a 56-bit key, found by brute force in hours",
    "DES3": f"Triple DES has {_SWEET32}, and NIST disallows it for encryption since 2024",
    "TripleDES": f"Triple DES has {_SWEET32}, and NIST disallows it for encryption since 2024",
    "ARC4": (
        "RC4's keystream is biased, so repeated plaintexts (cookies, tokens) can be recovered; "
        "TLS forbids it (RFC 7465)"
    ),
    "ARC2": f"RC2 has a weak key schedule and {_SWEET32}",
    "RC2": f"RC2 has a weak key schedule and {_SWEET32}",
    "Blowfish": f"Blowfish has {_SWEET32}",
    "IDEA": f"IDEA has {_SWEET32}",
    "CAST": f"CAST5 has {_SWEET32}",
    "CAST5": f"CAST5 has {_SWEET32}",
    "SEED": (
        "SEED is an obsolete national cipher that `cryptography` has moved to its `decrepit` module"
    ),
    "XOR": "XOR with a repeating key is no encryption at all",
}
_ECB = (
    "ECB mode encrypts equal plaintext blocks to equal ciphertext blocks, so patterns in the "
    "data show through, and blocks can be cut, reordered or replayed unnoticed"
)
_INSTEAD = (
    "No rewrite keeps the behaviour: the ciphertext format, key and nonce handling change, and "
    "data already encrypted must stay readable. Use an authenticated cipher, AES-GCM or "
    "ChaCha20-Poly1305 (`cryptography`'s `AESGCM` / `ChaCha20Poly1305`, or pycryptodome's "
    "`AES.new(key, AES.MODE_GCM)`) with a fresh random nonce per message, and plan the "
    "migration: re-encrypt stored data, or tag it with a format version so both can be read "
    "during the switch. If the old cipher is needed only to read a legacy format or to talk "
    "to a legacy peer, say so in a comment and suppress the line (`# nosec B304` / "
    "`# noqa: S304`)"
)

_PYCRYPTO_NEW = re.compile(r"^(?:Crypto|Cryptodome)\.Cipher\.(\w+)\.new$")
_PYCRYPTO_ECB = re.compile(r"^(?:Crypto|Cryptodome)\.Cipher\.\w+\.MODE_ECB$")
_ALGORITHMS = (
    "cryptography.hazmat.primitives.ciphers.algorithms",
    "cryptography.hazmat.decrepit.ciphers.algorithms",
)
_CRYPTOGRAPHY_WEAK = {
    f"{module}.{name}": name
    for module in _ALGORITHMS
    for name in ("TripleDES", "ARC4", "Blowfish", "IDEA", "CAST5", "SEED", "RC2")
}
_CRYPTOGRAPHY_ECB = frozenset({"cryptography.hazmat.primitives.ciphers.modes.ECB"})
_CIPHER_CLASSES = frozenset(
    {
        "cryptography.hazmat.primitives.ciphers.Cipher",
        "cryptography.hazmat.primitives.ciphers.base.Cipher",
    }
)
_PYCRYPTO_MODULES = ("DES", "DES3", "ARC2", "ARC4", "Blowfish", "CAST", "IDEA", "XOR")
# The last part of every name reported: a reference is one of these words (or an alias).
_WORDS = frozenset({*_PYCRYPTO_MODULES, *_CRYPTOGRAPHY_WEAK.values(), "MODE_ECB", "ECB"})


class WeakCipher(TierCDetector):
    """Report DES, 3DES, RC4, Blowfish, IDEA and similar ciphers and ECB mode."""

    id: ClassVar[str] = "weak-cipher"
    cwe: ClassVar[tuple[int, ...]] = (327,)
    title: ClassVar[str] = "Broken or obsolete cipher, or ECB mode (report only)"
    rules: ClassVar[tuple[str, ...]] = (
        "B304",
        "S304",
        "B305",
        "S305",
        "B413",
        "S413",
        "insecure-cipher-algorithm-des",
        "insecure-cipher-algorithm-tripledes",
        "insecure-cipher-algorithm-rc2",
        "insecure-cipher-algorithm-rc4",
        "insecure-cipher-algorithm-arc4",
        "insecure-cipher-algorithm-blowfish",
        "insecure-cipher-algorithm-idea",
        "insecure-cipher-mode-ecb",
    )
    refuse_in_tests: ClassVar[bool] = True
    # Every reported name starts with `Crypto`, `Cryptodome` or `cryptography`.
    hints: ClassVar[tuple[str, ...]] = ("Crypto", "cryptography")
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (tuple(sorted(_WORDS)),)
    modules: ClassVar[tuple[str, ...]] = ("Crypto", "Cryptodome", "cryptography")

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(DetectorTransformer):
    def __init__(self, run: FileRun) -> None:
        super().__init__(run)
        # References reported with the constructor they are an argument of.
        self._covered: set[cst.CSTNode] = set()
        # The attribute part of `a.b` (`b`): a name of no binding of its own.
        self._attributes: set[cst.Name] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        cipher = self._pycrypto_cipher(node)
        if cipher is None and self.call_name(node, _CIPHER_CLASSES) is None:
            return
        problems = [_WEAK[cipher]] if cipher in _WEAK else []
        for arg in node.args:
            for ref in m.findall(arg.value, m.Attribute() | m.Name()):
                problem = self._weak(ref)
                if problem is not None:
                    self._covered.add(ref)
                    problems.append(problem)
        if problems:
            self.report(node, _detail(problems))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._attributes.add(node.attr)
        if node not in self._covered:
            problem = self._weak(node)
            if problem is not None:
                self.report(node, _detail([problem]))

    def visit_Name(self, node: cst.Name) -> None:
        if node not in self._covered and node not in self._attributes:
            problem = self._weak(node)
            if problem is not None:
                self.report(node, _detail([problem]))

    def _pycrypto_cipher(self, call: cst.Call) -> str | None:
        """`X` of a `Crypto.Cipher.X.new(...)` call (pycryptodomex: `Cryptodome`), else None."""
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value != "new":
                return None
        elif not isinstance(func, cst.Name) or (
            func.value != "new" and func.value not in self.run.file.aliases
        ):
            return None
        for name in sorted(self.qualified_names(func)):
            found = _PYCRYPTO_NEW.match(name)
            if found:
                return found.group(1)
        return None

    def _weak(self, ref: cst.CSTNode) -> str | None:
        """Why a reference (an original `Name` or `Attribute`) names a weak cipher class or
        the ECB mode, None when it names neither."""
        if isinstance(ref, cst.Attribute):
            word = ref.attr.value
        elif isinstance(ref, cst.Name) and ref not in self._attributes:
            word = ref.value
        else:
            return None
        if word not in _WORDS and word not in self.run.file.aliases:
            return None
        for name in sorted(self.qualified_names(ref)):
            if name in _CRYPTOGRAPHY_WEAK:
                return _WEAK[_CRYPTOGRAPHY_WEAK[name]]
            if name in _CRYPTOGRAPHY_ECB or _PYCRYPTO_ECB.match(name):
                return _ECB
        return None


def _detail(problems: list[str]) -> str:
    unique = list(dict.fromkeys(problems))
    text = "; ".join(unique)
    return f"{text[0].upper()}{text[1:]}. {_INSTEAD}."
