"""The control plane's domain: resources, the registry, persistence and endpoint lifecycle."""
