"""Retention: a schedule per data class, legal holds, batched purges, deletion certificates."""
