"""Loading landed files into raw and core, one module per feed."""
