"""Survey waves: one module per wave, saying where its raw files are and how they map to the schema."""
