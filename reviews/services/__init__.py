"""Every write in reviews goes through a service here (HackSoft style), one module per area."""
