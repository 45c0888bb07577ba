"""HTTP routes, one module per resource; each stays thin: parse, call the assistant, shape the reply."""
