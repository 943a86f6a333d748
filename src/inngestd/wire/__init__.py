"""JSON shapes on the wire: parsing and validation at the edge."""
