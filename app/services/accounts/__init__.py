"""Who may act: people who sign in, reseller companies, API clients."""
