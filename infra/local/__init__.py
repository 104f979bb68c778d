"""The local stack: moto in server mode, resources from template.yaml, an HTTP API gateway."""
