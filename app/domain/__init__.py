"""Pure domain: money, enums, status rules and errors. Imports nothing from Flask."""
