"""The workflow engine: ticket types, stages, flows, field rules, stage actions and deadlines,
configured in YAML. Domain code only: nothing here imports a transport."""
