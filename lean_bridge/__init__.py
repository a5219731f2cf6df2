"""The Lean bridge: losscheck specs linked to TorchLean's declarations, checked both ways.

Lean text to SymPy (``lean_source``, ``syntax``, ``translate``, ``crosscheck``) and SymPy to
Lean 4 (``printer``, ``emit``, ``compile``). It imports the spec and derivation layers only.
"""
