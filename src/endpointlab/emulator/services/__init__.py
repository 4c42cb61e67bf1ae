"""Service modules, one per AWS API: parsed parameters in, a domain call, output members out."""
