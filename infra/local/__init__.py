"""The local stack: moto in server mode, resources from template.yaml, an HTTP API gateway, and a runner
that delivers SQS messages and schedules to the handlers."""
