"""Network services around the detection engine: the Postfix policy service and Dovecot's auth
policy endpoint, with their state in memory or Redis."""
