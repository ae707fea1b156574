"""The Ansible-facing runs: what each action plugin does with its task.

It owns the action base (arguments validated against the module's own
DOCUMENTATION, failures as ``msg``, ``no_log`` scrubbing), controller files
(PFX, chain bundles, backups), the compliance and restore runs (read ->
analyse -> plan -> apply -> verify) and the engine warm-up. It is the only
layer that imports from all the others and from Ansible's plugin API.
"""
