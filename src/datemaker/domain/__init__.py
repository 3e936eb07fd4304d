"""The business rules of a dating event: pure, with no I/O, no clock reads and
no imports from adapters. Time, ids and seeds come in with the commands."""
