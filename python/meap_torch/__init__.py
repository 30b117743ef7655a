"""meap_torch: a plain-PyTorch twin of the MEAP playground's engine (same generators, data, model, optimizer)."""
