"""Plans capability: AWS Backup plans, selections and vaults kept as the configuration says."""
