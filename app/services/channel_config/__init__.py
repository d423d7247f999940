"""Payment channels as configured by the admin, in the form the engine and the adapters need."""
