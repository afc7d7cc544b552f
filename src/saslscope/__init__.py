"""saslscope: know, with certainty, who is authenticating to your SMTP servers.

Layers (each usable alone):

- :mod:`saslscope.sasl`     SASL mechanisms as sans-IO client/server state machines
- :mod:`saslscope.smtp`     SMTP codec, transports, the AUTH test client and the embedded server
- :mod:`saslscope.maillog`  streaming Postfix/Dovecot log forensics
- :mod:`saslscope.headers`  what a message's Received chain says
- :mod:`saslscope.cli`      the thin command layer
"""

__version__ = "0.1.0"
