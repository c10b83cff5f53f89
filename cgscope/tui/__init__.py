"""The Textual dashboard. Only this package imports textual; it reads through model/, never kernel files."""
