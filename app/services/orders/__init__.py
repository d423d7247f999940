"""Payment orders (支付单): creation, the order system's updates, the status rules, reminders, reading and exporting."""
