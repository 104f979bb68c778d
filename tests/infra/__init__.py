"""Checks of template.yaml: cfn-lint and the properties the deployment relies on."""
