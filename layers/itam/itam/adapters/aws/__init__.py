"""AWS inventory connector (an adapter: it is the code that calls AWS).

`inventory.AwsInventory` walks the tenant's accounts and regions (`session`: AssumeRole with the
tenant's ExternalId, the Organization, the enabled regions) and, for every resource type in
`resources.RESOURCES`, calls that type's module: `get_*` (the paginated AWS calls) then
`transform_*` (pure: a provider record -> `model.CloudResource`).
"""
