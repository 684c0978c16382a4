"""Events capability: SQS consumer, decode -> tracker pipeline, reconciler, sizes, CloudWatch."""
