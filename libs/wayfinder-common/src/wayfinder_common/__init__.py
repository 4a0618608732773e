"""What every Wayfinder service would otherwise copy: settings, telemetry set-up, errors, contracts."""
