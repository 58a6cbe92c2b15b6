"""The codemods patchpilot runs, in the order it runs them.

Order matters only when two codemods touch the same file: each later one sees the text the
earlier ones left. Instances carry their options (e.g. the timeout the requests codemod adds).
"""

from __future__ import annotations

from patchpilot.fixers.codemods.interface import Codemod


def codemods() -> tuple[Codemod, ...]:
    """Every registered codemod, freshly instantiated with default options."""
    from patchpilot.fixers.codemods.auth_assert import HardenAuthAssert
    from patchpilot.fixers.codemods.cleartext_transport import CleartextTransport
    from patchpilot.fixers.codemods.eval_on_data import EvalOnData
    from patchpilot.fixers.codemods.flask_debug import FlaskDebugEnv
    from patchpilot.fixers.codemods.hashlib_usedforsecurity import HashlibUsedForSecurity
    from patchpilot.fixers.codemods.lxml_parser import HardenLxml
    from patchpilot.fixers.codemods.paramiko_policy import ParamikoRejectPolicy
    from patchpilot.fixers.codemods.pyyaml import HardenPyyaml
    from patchpilot.fixers.codemods.requests_timeout import AddRequestsTimeout
    from patchpilot.fixers.codemods.requests_verify import RequestsVerifyEnabled
    from patchpilot.fixers.codemods.rsa_key_size import RsaKeySize
    from patchpilot.fixers.codemods.ruamel_yaml import HardenRuamel
    from patchpilot.fixers.codemods.secure_tempfile import SecureTempfile
    from patchpilot.fixers.codemods.subprocess_shell import SubprocessShellFalse
    from patchpilot.fixers.codemods.tarfile_filter import TarfileDataFilter
    from patchpilot.fixers.codemods.tls_minimum_version import TlsMinimumVersion
    from patchpilot.fixers.codemods.torch_load import TorchLoadWeightsOnly
    from patchpilot.fixers.codemods.unsafe_deserialization import UnsafeDeserialization
    from patchpilot.fixers.codemods.weak_cipher import WeakCipher
    from patchpilot.fixers.codemods.world_writable import WorldWritableMode

    return (
        # Tier A and A-: eligible for a merge when tests execute the changed lines.
        HardenPyyaml(),
        HardenRuamel(),
        AddRequestsTimeout(),
        HashlibUsedForSecurity(),
        SubprocessShellFalse(),
        HardenAuthAssert(),
        TarfileDataFilter(),
        TlsMinimumVersion(),
        HardenLxml(),
        FlaskDebugEnv(),
        RsaKeySize(),
        # Tier B: deterministic, but a visible change of behaviour that a person reviews.
        TorchLoadWeightsOnly(),
        RequestsVerifyEnabled(),
        SecureTempfile(),
        WorldWritableMode(),
        ParamikoRejectPolicy(),
        # Tier C: detected and explained, never rewritten.
        UnsafeDeserialization(),
        WeakCipher(),
        EvalOnData(),
        CleartextTransport(),
    )
