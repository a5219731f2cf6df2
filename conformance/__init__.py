"""The conformance harness: implementations under test against the exact oracle. The only layer importing torch."""
