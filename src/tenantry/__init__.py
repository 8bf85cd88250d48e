"""Tenantry: hierarchical multi-tenant management and billing over GraphQL."""
