"""The analysis engine: pure functions from what a server holds to findings and a plan.

It owns the certificate model (``model``), the judgement of a server's state
(``checks``: chains, Exchange's certificate selection, bound-ness, the checks by
finding family) and the decisions and ordered steps that would fix it
(``plan``), plus ``analysis.analyse`` which ties them together. It does no
I/O: no sockets, files, subprocesses or clocks (the time is passed in), and it
imports nothing from Ansible, the wire, the evidence readers, the report or
the runs. Its only third-party dependency is ``cryptography``.
"""
