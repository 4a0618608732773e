"""One query layer, two backends: what the navigation commands ask, local store or compose stack."""
