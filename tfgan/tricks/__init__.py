"""Ways to change what G and D see: DiffAugment, and how the latent z is drawn."""
