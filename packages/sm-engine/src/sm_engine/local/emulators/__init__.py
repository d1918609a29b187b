"""Stand-ins for what runs inside built-in algorithm containers, which have no user script to run locally."""
