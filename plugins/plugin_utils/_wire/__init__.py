"""The wire: running agent.ps1 on a server over the task's own connection (winrm or psrp).

It owns the transport (bootstrap, stdin framing, CLIXML error decoding), the
agent itself and the calls that run its operations (read, apply, restore, read
logs). It may import the engine's model (to parse what it read) and Ansible's
connection API; its failures are ``AgentError`` which the runs translate into
module failures.
"""
