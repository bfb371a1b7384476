"""Receipts (reportlab PDF, Qt printing), Excel reports and the reconciliation export."""
