"""The fleet report: the model built from every host's result, and its JSON, JUnit XML and HTML writers.

Imports only the engine's findings and redaction; the callback plugin feeds it and writes the files.
"""
