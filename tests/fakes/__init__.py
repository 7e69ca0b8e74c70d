"""Local servers that speak the wire formats of services we cannot reach from here."""
