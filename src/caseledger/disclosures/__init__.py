"""Disclosures to other agencies under the Privacy Act: routine uses, one-person requests,
privacy-officer decisions, release packages, the accounting of disclosures, corrections."""
