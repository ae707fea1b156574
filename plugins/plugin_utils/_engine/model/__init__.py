"""What the engine reasons about: certificates, Windows names, a server's snapshot, the desired state.

Imports only ``cryptography`` and the engine's errors.
"""
