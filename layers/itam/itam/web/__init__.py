"""HTTP glue shared by the API functions: caller identity, problem details, OpenAPI, request checks."""
