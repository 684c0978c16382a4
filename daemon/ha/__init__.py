"""High availability: the leader lease in DynamoDB and the gate that runs leader-only components."""
