"""Local stand-ins for outside services, spoken to over their real wire formats."""
