"""Network services around the detection engine: the Postfix policy delegation service
(``policy serve``), with state in memory or Redis."""
