"""losscheck: loss functions checked against their symbolic specs, in ULPs."""
