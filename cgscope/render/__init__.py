"""Turning models into tables, trees and JSON; shared by the CLI and the dashboard. No kernel files here."""
