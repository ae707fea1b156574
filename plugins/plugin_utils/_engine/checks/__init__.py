"""Judging a snapshot: chains, Exchange's certificate selection, what binds what, and the checks.

Imports the engine's model, findings and (for the retire decision) plan; never the wire or Ansible.
"""
