"""``losscheck docs``: a static formula reference built from the specs, their derivations, the known
deviations and the TorchLean links, as HTML with MathML and as Markdown with LaTeX."""
