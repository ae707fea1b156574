"""Evidence from outside the certificate store: the TLS probe (what a server presents on the wire)
and Exchange's SMTP protocol logs.

Readers may do I/O (sockets, files); they turn what they read into engine findings and may import the
engine, never the wire, the report or the runs.
"""
