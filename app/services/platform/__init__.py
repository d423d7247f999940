"""Mechanisms every area uses and none owns: who acts, the unit of work, encryption at rest,
idempotency keys, the transactional outbox, paging, the job queues."""
