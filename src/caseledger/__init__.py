"""caseledger: accountable case management with a tamper-evident access ledger."""

__version__ = "0.1.0"
