"""Oversight of offices' queues: the operator dashboard and the regional operator role (Kanwil).

A clerk sees their own office's board; a regional operator sees the boards of the offices
assigned to them, read-only: the role grants no action on applications. Acting on an office's
applications still needs staff membership of that office."""
