"""A reusable durable outbox for Django: enqueue in the caller's transaction, claim with leases,
deliver through per-topic handlers, retry with backoff, trip a shared circuit breaker, ramp up
through a shared token bucket, dead-letter what upstream refuses. Knows nothing about passports.
"""
