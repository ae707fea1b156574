"""From findings to remediation: the decisions, the ordered steps, and their simulation on a snapshot.

Imports the engine's model and checks; never the wire or Ansible.
"""
