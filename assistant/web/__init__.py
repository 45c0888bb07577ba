"""Citizen-facing web front ends: the embeddable portal widget, the kiosk page and a demo portal."""
