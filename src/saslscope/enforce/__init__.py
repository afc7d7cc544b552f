"""Enforcement that Postfix carries out itself, with no daemon (``check_sasl_access`` tables)."""
