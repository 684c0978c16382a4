"""Pure decisions of AWS Backup plans as code: desired documents, differences, ownership."""
