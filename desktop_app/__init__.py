"""ClinicSettle (乡镇医保结算台)."""

__version__ = "0.1.0"
