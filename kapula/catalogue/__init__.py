"""The service catalogue: what customers can ask for, each with its guided form."""
