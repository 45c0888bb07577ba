"""Ingestion: load ``knowledge/`` files into Documents, chunk them, and build the index."""
