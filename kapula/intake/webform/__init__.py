"""Public web forms of the service catalogue (the "web_form" channel)."""
