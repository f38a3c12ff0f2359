"""The person's own view: "My record", its export, and amendment requests."""
