"""Read a message's header: the Received chain, the authenticated submission hop, and the
SPF/DKIM/DMARC/ARC verdicts (``saslscope headers``).

Entry points: :func:`analyze_source` (a file, an mbox message or stdin), :func:`analyze_text`,
:func:`parse_received` for one header, and :func:`report.to_dict` for the JSON view.
Only :class:`HeaderInputError` is raised, and only for unreadable or empty input.
"""

from saslscope.headers.chain import HeaderAnalysis, analyze_bytes, analyze_source, analyze_text
from saslscope.headers.received import Hop, TlsInfo, parse_received
from saslscope.headers.source import HeaderInputError

__all__ = [
    "HeaderAnalysis",
    "HeaderInputError",
    "Hop",
    "TlsInfo",
    "analyze_bytes",
    "analyze_source",
    "analyze_text",
    "parse_received",
]
