"""Knowledge operations behind the console: documents (uploads, metadata, versions), ingest jobs,
index generations and alerts. Knows nothing of HTTP; ``api/routes/admin_*.py`` are the thin edge."""
